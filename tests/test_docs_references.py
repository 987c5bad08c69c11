"""What the docs point a newcomer at exists and works as written: links inside the repository,
README sections named elsewhere, commands through the venv, Compose v2, the Docker restore route."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from recommender.paths import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text()
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".sh", ".toml", ".example", ".cfg", ""}


def project_files() -> list[Path]:
    """Tracked files in a git checkout, else everything outside the venv and caches."""
    if (PROJECT_ROOT / ".git").exists():
        names = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                               check=True, timeout=30).stdout.split()
        paths = [PROJECT_ROOT / n for n in names]
    else:
        paths = [p for p in PROJECT_ROOT.rglob("*") if ".venv" not in p.parts and "__pycache__" not in p.parts]
    return [p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES and "locales" not in p.parts
            and "fixtures" not in p.parts and "data" not in p.relative_to(PROJECT_ROOT).parts[:1]]


def headings(markdown: str) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"(?m)^#{2,3} (.+)$", markdown)}


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_markdown_links_stay_inside_the_repository_and_exist():
    broken = []
    for md in [p for p in project_files() if p.suffix == ".md"]:
        for target in re.findall(r"\]\(([^)\s]+)\)", md.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            resolved = (md.parent / path).resolve() if path else md
            if not resolved.is_relative_to(PROJECT_ROOT) or not resolved.exists():
                broken.append(f"{md.relative_to(PROJECT_ROOT)}: {target}")
            elif fragment and resolved.suffix == ".md" and fragment not in {
                    anchor(h) for h in headings(resolved.read_text())}:
                broken.append(f"{md.relative_to(PROJECT_ROOT)}: {target} (no such heading)")
    assert broken == []


def test_readme_sections_named_elsewhere_exist():
    # Skip messages, error lines and comments say "README, Tests" or README "Languages".
    named = []
    for path in project_files():
        for section in re.findall(r"README(?:, | \"| ')([A-Z][\w ]*?)[\"')]", path.read_text(errors="replace")):
            named.append((path.relative_to(PROJECT_ROOT), section))
    assert named, "the pattern no longer matches anything: update this test"
    assert [(p, s) for p, s in named if s not in headings(README)] == []


def test_docs_files_named_in_comments_and_messages_exist():
    missing = [(p.relative_to(PROJECT_ROOT), name) for p in project_files()
               for name in re.findall(r"\bdocs/[\w-]+\.md", p.read_text(errors="replace"))
               if not (PROJECT_ROOT / name).exists()]
    assert missing == []


def test_readme_commands_run_through_the_venv():
    # A fresh shell has no activated venv: `python -m bot.stats` fails there.
    bare = [line.strip() for line in README.splitlines()
            if re.search(r"(?<![/\w])python3? -m ", line) and "docker compose" not in line]
    assert bare == []


def test_the_first_commands_block_has_as_many_commands_as_its_heading_says():
    heading = re.search(r"(?m)^## (.+)$", README).group(1)  # "The two commands" once listed three
    block = re.search(r"```sh\n(.*?)```", README[README.index(heading):], re.S).group(1)
    count = len([line for line in block.splitlines() if line.strip()])
    claimed = [n for word, n in {"two": 2, "three": 3, "four": 4}.items() if re.search(rf"\b{word}\b", heading.lower())]
    assert claimed in ([], [count]), (heading, count)


def test_readme_says_which_compose_the_compose_file_needs():
    compose = (PROJECT_ROOT / "compose.yaml").read_text()
    if not re.search(r"(?m)^name:", compose):
        pytest.skip("compose.yaml no longer needs Compose v2's top-level name")
    docker = README[README.index("**Docker:**"):]
    docker = docker[:docker.index("\n\n")]
    assert "Compose v2" in docker and "docker compose version" in docker and "1.29" in docker


def test_the_docker_restore_recipe_writes_the_volume_not_the_host():
    blocks = re.findall(r"```sh\n(.*?)```", OPERATIONS[OPERATIONS.index("## Back up and restore"):], re.S)
    docker = next(b for b in blocks if "docker compose stop bot" in b).splitlines()
    written = next(re.search(r"bot\.backup (\S+)", line).group(1) for line in docker
                   if "bot.backup" in line and "--restore" not in line)
    restore = next(line for line in docker if "--restore" in line).split("#")[0].strip()
    # Inside the service (DATABASE_PATH=/data/... on the volume), from the file the backup wrote there.
    assert restore == f"docker compose run --rm --no-deps bot python -m bot.backup --restore {written}"
    assert written.startswith("/data/")
    steps = "\n".join(docker)
    assert steps.index("stop bot") < steps.index("--restore") < steps.index("start bot")
    compose = (PROJECT_ROOT / "compose.yaml").read_text()
    assert "DATABASE_PATH: /data/mood.sqlite3" in compose and "bot-data:/data" in compose
    assert "ENTRYPOINT" not in (PROJECT_ROOT / "Dockerfile").read_text()  # `run ... python -m` runs as written
