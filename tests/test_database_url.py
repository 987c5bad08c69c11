"""DATABASE_URL with a password in it: parsed without ever echoing it, or given separately
(POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE, as compose.scale.yaml does); and the operator commands
that only read PostgreSQL (stats, --health) never create the bot's tables there."""
from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest

from bot.config import Config, ConfigError, dsn_password
from fake_telegram import TOKEN
from recommender.paths import PROJECT_ROOT

COMMANDS = {
    "bot": ["-m", "bot"],
    "check": ["-m", "bot", "--check"],
    "health": ["-m", "bot", "--health"],
    "stats": ["-m", "bot.stats"],
    "migrate": ["-m", "bot.migrate_history", "--from", "/nonexistent.sqlite3"],
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "POSTGRES_", "TELEGRAM_", "WEBHOOK_"))}
    base.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL="http://127.0.0.1:9/bot", **env)
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=base, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("password", ["Sec#ret-pass", "Sec/ret-pass", "Sec?ret-pass"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_raw_password_with_special_characters_is_one_line_that_never_shows_it(command, password):
    proc = run(COMMANDS[command], DATABASE_URL=f"postgresql://mml:{password}@127.0.0.1:5432/mml")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output
    assert "Sec" not in output and "ret-pass" not in output
    assert "percent-encode" in output and "POSTGRES_PASSWORD" in output


def test_a_password_given_separately_may_hold_any_character(tmp_path):
    password = "p#s/s?w@rd:%41 é"
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "postgresql://mml@db.internal/mml",
                              "POSTGRES_PASSWORD": password})
    assert dsn_password(config.database_url) == password
    assert config.database == "postgresql://db.internal:5432/mml"
    assert password in config.secrets  # redacted from every log line
    secret_file = tmp_path / "pg_password"
    secret_file.write_text(password + "\n")
    from_file = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "postgresql://mml@db/mml",
                                 "POSTGRES_PASSWORD_FILE": str(secret_file)})
    assert dsn_password(from_file.database_url) == password
    encoded = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                               "DATABASE_URL": "postgresql://mml:p%23s%2Fs%3Fw%40rd@db:6543/mml"})
    assert dsn_password(encoded.database_url) == "p#s/s?w@rd" and encoded.database == "postgresql://db:6543/mml"
    with pytest.raises(ConfigError, match="POSTGRES_PASSWORD_FILE") as raised:
        Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "postgresql://mml@db/mml",
                         "POSTGRES_PASSWORD_FILE": str(tmp_path / "missing")})
    assert password not in str(raised.value)


async def tables_in(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        await conn.close()


async def test_stats_and_health_create_nothing_in_the_database_they_are_pointed_at(postgres):
    url = postgres.create_database("not_the_bots")
    for command in ("stats", "health"):
        proc = run(COMMANDS[command], DATABASE_URL=url)
        output = proc.stdout + proc.stderr
        assert proc.returncode in (1, 2) and len(output.strip().splitlines()) == 1, output
    assert await tables_in(url) == set()


async def test_stats_reads_postgresql_with_the_password_given_separately(postgres, tmp_path):
    url = postgres.create_database("separate_pw")
    from recommender.store.postgres import PostgresHistoryStore

    store = await PostgresHistoryStore.open(url)
    try:
        await store.add_reading(1, "selfie", "sad", (0.1,) * 7)
    finally:
        await store.close()
    proc = run(COMMANDS["stats"], DATABASE_URL=url, POSTGRES_PASSWORD="p#s/s?w@rd")
    assert proc.returncode == 0, proc.stderr
    assert "selfies answered: 1" in proc.stdout
