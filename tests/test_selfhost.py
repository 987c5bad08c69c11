"""What a self-hoster meets around the bot: the Makefile's interpreter check and where .env is read."""
from __future__ import annotations

import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.paths import PROJECT_ROOT



def _old_python() -> str | None:
    """A working Python 3.10 to play the wrong interpreter (a pyenv shim may exist but not run)."""
    candidates = [shutil.which("python3.10"), *map(str, Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=30).returncode == 0:
            return candidate
    return None


OLD_PYTHON = _old_python()


def make(*args: str, cwd=PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(PROJECT_ROOT), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(OLD_PYTHON is None, reason="no python3.10 on this machine to play the wrong interpreter")
def test_too_old_python_fails_in_one_line_before_making_a_venv(tmp_path):
    venv = tmp_path / "venv"
    proc = make("run", f"PYTHON={OLD_PYTHON}", f"VENV={venv}")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[0] == (
        f"error: {OLD_PYTHON} is Python 3.10 but the bot needs 3.11 or newer: run make PYTHON=python3.11 run")
    assert not venv.exists()


@pytest.mark.skipif(OLD_PYTHON is None, reason="no python3.10 on this machine to make a stale venv")
def test_a_venv_made_by_another_python_is_rebuilt(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([OLD_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    proc = make("venv", f"PYTHON={sys.executable}", f"VENV={venv}")
    assert proc.returncode == 0, proc.stderr
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == str(tuple(sys.version_info[:2]))


def test_make_help_lists_clean_and_the_python_option():
    out = make("help").stdout
    assert "make clean" in out and "PYTHON=" in out and "make test-slow" in out


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/bot"


def _write_dotenv(path: Path) -> None:
    # Should a bot read it, it finds a token and a closed loopback port, never real Telegram.
    path.write_text(f"TELEGRAM_BOT_TOKEN=123456:from-the-dotenv-file-0123456789\nTELEGRAM_API_URL={_closed_port_url()}\n")


@pytest.fixture
def env_beside_the_code():
    path = PROJECT_ROOT / ".env"
    if path.exists():
        pytest.skip("a real .env sits beside the code; not touching it")
    _write_dotenv(path)
    try:
        yield path
    finally:
        path.unlink()


@pytest.fixture
def some_env_beside_the_code():
    """The README's first step done: the user's own .env if there is one (never read here), else one."""
    path = PROJECT_ROOT / ".env"
    ours = not path.exists()
    if ours:
        _write_dotenv(path)
    try:
        yield path
    finally:
        if ours:
            path.unlink()


def test_no_test_reads_the_users_dotenv(some_env_beside_the_code, tmp_path):
    # As the tests start the bot: their own environment, no token. A .env read here would start a
    # real bot with the user's token (deleting its webhook, stealing its updates).
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), DATABASE_PATH=str(tmp_path / "h.sqlite3"))
    proc = subprocess.run([sys.executable, "-m", "bot", "--check", "--offline"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "TELEGRAM_BOT_TOKEN is not set" in proc.stderr, proc.stderr
    assert not (tmp_path / "h.sqlite3").exists()


def test_tests_cannot_reach_beyond_loopback():
    with pytest.raises(ConnectionRefusedError, match="loopback only"):
        socket.create_connection(("192.0.2.1", 443), timeout=2)  # TEST-NET-1: documentation only


def test_dotenv_beside_the_code_is_read_from_any_directory(env_beside_the_code, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "MML_ENV_FILE")}
    env["DATABASE_PATH"] = str(tmp_path / "h.sqlite3")
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    proc = subprocess.run([sys.executable, "-m", "bot", "--health"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    # With the token read, --health gets as far as the database (no heartbeat yet).
    assert "TELEGRAM_BOT_TOKEN is not set" not in proc.stderr
    assert "no heartbeat" in proc.stderr and proc.returncode == 1


def _bot(*args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_"))}
    env.update({"PYTHONPATH": str(PROJECT_ROOT), "TELEGRAM_API_URL": _closed_port_url(), **env_extra})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_version_is_printed():
    proc = _bot("--version")
    assert proc.returncode == 0 and re.fullmatch(r"python -m bot \d+\.\d+\.\d+\n", proc.stdout)


class _NotFound(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><h1>404 Not Found</h1></html>")

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def test_an_api_url_that_is_no_bot_api_is_named_in_one_line(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/bot"
        proc = _bot(TELEGRAM_BOT_TOKEN="123456:abcdefghijklmnopqrstuvwxyz", TELEGRAM_API_URL=url,
                    DATABASE_PATH=str(tmp_path / "h.sqlite3"), LOG_LEVEL="WARNING")
    finally:
        server.shutdown()
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert lines == [f"error: TELEGRAM_API_URL {url} did not answer like the Telegram Bot API "
                     "(an HTTP error without the API's JSON): check the URL"]


@pytest.mark.parametrize("url, name", [("http://127.0.0.1:18081", "TELEGRAM_API_URL"),
                                       ("http://127.0.0.1:18081/", "TELEGRAM_API_URL"),
                                       ("127.0.0.1:18081/bot", "TELEGRAM_API_URL"),
                                       ("http://127.0.0.1:18081/file", "TELEGRAM_FILE_URL")])
def test_a_bot_api_url_without_bot_is_one_line_naming_the_fix(tmp_path, url, name):
    proc = _bot("--check", TELEGRAM_BOT_TOKEN="123456:abcdefghijklmnopqrstuvwxyz", DATABASE_PATH=str(tmp_path / "h"),
                **{name: url})
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {name} must ")
    assert "/bot" in lines[0] and "abcdefghij" not in lines[0] and "Invalid port" not in lines[0]


def test_no_runtime_banner_when_the_models_load(tmp_path):
    proc = _bot("--check", "--offline", TELEGRAM_BOT_TOKEN="123456:abcdefghijklmnopqrstuvwxyz",
                DATABASE_PATH=str(tmp_path / "h.sqlite3"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout.startswith("ok: ")


def test_catalog_build_without_the_third_party_data_says_where_to_point(tmp_path):
    env = {**os.environ, "MML_DATA_DIR": str(tmp_path / "nowhere"), "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run([sys.executable, "-m", "training.build_catalog", "--out", str(tmp_path / "c.csv")],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] in [
        f"error: {tmp_path / 'nowhere' / 'music' / name} not found: set MML_DATA_DIR to the shared "
        "data folder (README, Tests); no catalog written" for name in ("data_moods.csv", "spotify_songs.csv.gz")]
    assert not (tmp_path / "c.csv").exists()


def test_adding_a_language_by_the_readme_steps_never_shows_two_englishes(tmp_path):
    import polib

    from bot.i18n import Languages, po_path

    locales = shutil.copytree(PROJECT_ROOT / "bot" / "locales", tmp_path / "locales")
    # README "Languages", step 1, as written (pybabel is babel's command line).
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "init", "-i", str(locales / "messages.pot"),
                    "-d", str(locales), "-D", "messages", "-l", "fr", "--no-wrap"],
                   check=True, capture_output=True, timeout=120)
    languages = Languages.load(locales)
    names = [lang.name for lang in languages]
    assert len(names) == len(set(names)) == 7 and "fr" not in languages.by_code
    (warning,) = [w for w in languages.warnings if " fr " in w]
    assert warning.startswith('language fr is left out until its name is translated (msgctxt "language name" in ')
    assert warning.endswith("locales/fr/LC_MESSAGES/messages.po)")
    # Step 2 begun: the name translated, the rest not yet; served, and make check says how far along.
    catalog = polib.pofile(str(po_path("fr", locales)))
    catalog.find("English", msgctxt="language name").msgstr = "Français"
    catalog.save()
    languages = Languages.load(locales)
    assert languages.get("fr").name == "Français"
    assert re.fullmatch(r"language fr \(Français\) is \d% translated: the rest is answered in English",
                        languages.warnings[0]), languages.warnings


def _install_postgres(tmp_path: Path, **env_extra: str) -> tuple[subprocess.CompletedProcess, str]:
    """.ci/install-postgres.sh (what make test runs first) on a machine without PostgreSQL, with
    an apt-get that only notes it was called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "apt.log"}\n')
    (bin_dir / "apt-get").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "POSTGRES_LIB": str(tmp_path / "none"), **env_extra}
    proc = subprocess.run(["bash", str(PROJECT_ROOT / ".ci" / "install-postgres.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    apt = tmp_path / "apt.log"
    return proc, apt.read_text() if apt.exists() else ""


@pytest.mark.skipif(shutil.which("initdb", path="/usr/bin:/bin") is not None, reason="PostgreSQL in /usr/bin")
def test_make_test_installs_postgresql_system_wide_only_when_asked_and_says_so_first(tmp_path):
    proc, apt = _install_postgres(tmp_path)
    assert proc.returncode == 0 and apt == ""  # a newcomer's make test leaves the system alone
    assert proc.stderr.startswith("note: PostgreSQL is not installed, so its tests will be skipped")
    assert "INSTALL_POSTGRES=1" in proc.stderr and len(proc.stderr.splitlines()) == 1
    if os.geteuid() != 0:
        return
    for asked in ({"INSTALL_POSTGRES": "1"}, {"CI": "true"}):
        (tmp_path / "apt.log").unlink(missing_ok=True)
        proc, apt = _install_postgres(tmp_path, **asked)
        assert proc.stdout.startswith("installing PostgreSQL system-wide"), proc.stdout
        assert "install -y -qq postgresql" in apt


def test_readme_says_what_make_test_installs_before_the_command():
    readme = (PROJECT_ROOT / "README.md").read_text()
    tests = readme[readme.index("\n## Tests\n"):]
    assert "2.3 GB" in tests and "system-wide" in tests and "INSTALL_POSTGRES=1" in tests
    quick_start = readme[readme.index("## Quick start"):readme.index("**Getting a token.**")]
    assert "[Tests](#tests)" in quick_start  # read before the command is run
