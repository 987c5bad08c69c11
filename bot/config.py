"""All of the bot's configuration, read from the environment (and an optional .env) in one place."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from recommender.music.spotify import SpotifySettings
from recommender.paths import CATALOG_PATH, PROJECT_ROOT

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "var" / "mood.sqlite3"

# "123456789:AA..." — what @BotFather hands out. Checked only for shape, so a typo (a quote,
# a space, the bot's name instead of its token) fails at once rather than as a network error.
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def load_env_file(directory: Path = PROJECT_ROOT) -> None:
    """Read .env beside the code, wherever the bot is started from; the real environment wins."""
    from dotenv import load_dotenv

    load_dotenv(directory / ".env", override=False)


def history_location(env: Mapping[str, str] | None = None) -> tuple[Path, str | None]:
    """DATABASE_PATH (or the default file) and DATABASE_URL, for the operator commands (backup,
    migration, stats) that need no token."""
    env = os.environ if env is None else env
    url = (env.get("DATABASE_URL") or "").strip() or None
    return Path((env.get("DATABASE_PATH") or "").strip() or DEFAULT_DATABASE_PATH), url


class ConfigError(ValueError):
    """A configuration mistake; the message is one line a person can act on."""


def _positive_float(name: str, raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 3600:
        raise ConfigError(f"{name} must be between 0 and 3600 seconds, got {raw}")
    return value


@dataclass(frozen=True)
class Config:
    token: str = field(repr=False)  # never in repr: repr ends up in logs and tracebacks
    api_url: str = DEFAULT_API_URL
    file_url: str = DEFAULT_FILE_URL
    database_path: Path = DEFAULT_DATABASE_PATH
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL; may hold a password
    catalog_path: Path = CATALOG_PATH
    log_level: str = "INFO"
    spotify: SpotifySettings | None = field(default=None, repr=False)  # None: no enrichment
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    # Loopback: the webhook server is meant to sit behind a TLS reverse proxy on the same host.
    webhook_listen: str = "127.0.0.1"
    port: int = 8080
    # Limits: bounded work, bounded downloads, bounded history.
    workers: int = 2  # threads running decode + detection + inference
    max_concurrent_updates: int = 64
    photos_per_minute: int = 10
    texts_per_minute: int = 30  # texts, commands, stickers and the like
    presses_per_minute: int = 30  # "More" presses
    max_pending_per_user: int = 20
    max_download_bytes: int = 10 * 1024 * 1024
    download_timeout_s: int = 30  # getFile + download, then the user is told it took too long
    max_history_per_user: int = 2000
    # Liveness: how often the heartbeat is written; `--health` fails after 3 missed beats.
    heartbeat_s: float = 30.0
    # The daily check-in: messages per second this replica sends at most (Telegram allows ~30 in
    # all, replies included), and how often it looks for check-ins that fell due.
    checkins_per_second: int = 25
    checkin_poll_s: float = 20.0

    def spotify_env(self) -> dict[str, str]:
        """The Spotify settings in the form recommender.music.spotify reads them."""
        pairs = {"SPOTIPY_CLIENT_ID": self.spotify_client_id,
                 "SPOTIPY_CLIENT_SECRET": self.spotify_client_secret,
                 "SPOTIFY_API_URL": self.spotify_api_url, "SPOTIFY_TOKEN_URL": self.spotify_token_url}
        return {k: v for k, v in pairs.items() if v}

    @property
    def database(self) -> str:
        """Where the history lives, for messages (no password)."""
        if not self.database_url:
            return str(self.database_path)
        from urllib.parse import urlsplit as split

        url = split(self.database_url)
        return f"postgresql://{url.hostname}:{url.port or 5432}{url.path}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What never reaches a log line or an error message."""
        from urllib.parse import urlsplit as split

        password = split(self.database_url).password if self.database_url else None
        return tuple(s for s in (self.token, self.webhook_secret, password) if s)

    @property
    def replica(self) -> str:
        """This process among replicas sharing a database: the host and, with a webhook, the port."""
        import socket

        return f"{socket.gethostname()}:{self.port}" if self.webhook_mode else socket.gethostname()

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    @property
    def webhook_path(self) -> str:
        """The path part of WEBHOOK_URL, which the local webhook server listens on."""
        return urlsplit(self.webhook_url or "").path.strip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def get_int(name: str, default: int, minimum: int = 1) -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
            if value < minimum:
                raise ConfigError(f"{name} must be at least {minimum}, got {value}")
            return value

        token = get("TELEGRAM_BOT_TOKEN")
        if token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put "
                              "its token in the environment or in .env")
        if not _TOKEN_SHAPE.match(token):
            raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token "
                              "(expected digits, a colon, then letters, e.g. 123456:ABC-DEF...)")
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in _LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {log_level!r}")
        webhook_url = get("WEBHOOK_URL")
        webhook_secret = get("WEBHOOK_SECRET")
        if webhook_url:
            if urlsplit(webhook_url).scheme != "https":
                raise ConfigError("WEBHOOK_URL must be an https:// URL (Telegram only calls https)")
            if not webhook_secret:
                raise ConfigError("WEBHOOK_SECRET is required with WEBHOOK_URL, so that only "
                                  "Telegram can post updates to the bot")
        if webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret):
            raise ConfigError("WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1-256 chars)")
        database_url = get("DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL must be a PostgreSQL URL, postgresql://user:password@host:5432/dbname "
                              "(leave it unset for the SQLite file at DATABASE_PATH)")
        return cls(
            token=token,
            api_url=get("TELEGRAM_API_URL") or DEFAULT_API_URL,
            file_url=get("TELEGRAM_FILE_URL") or DEFAULT_FILE_URL,
            database_path=Path(get("DATABASE_PATH") or DEFAULT_DATABASE_PATH),
            database_url=database_url,
            catalog_path=Path(get("CATALOG_PATH") or CATALOG_PATH),
            log_level=log_level,
            spotify=SpotifySettings.from_env(env),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_listen=get("WEBHOOK_LISTEN") or "127.0.0.1",
            port=get_int("PORT", 8080),
            workers=get_int("WORKERS", 2),
            max_concurrent_updates=get_int("MAX_CONCURRENT_UPDATES", 64),
            photos_per_minute=get_int("PHOTOS_PER_MINUTE", 10),
            texts_per_minute=get_int("TEXTS_PER_MINUTE", 30),
            presses_per_minute=get_int("PRESSES_PER_MINUTE", 30),
            max_pending_per_user=get_int("MAX_PENDING_PER_USER", 20),
            max_download_bytes=get_int("MAX_DOWNLOAD_BYTES", 10 * 1024 * 1024),
            download_timeout_s=get_int("DOWNLOAD_TIMEOUT_S", 30),
            max_history_per_user=get_int("MAX_HISTORY_PER_USER", 2000),
            checkins_per_second=get_int("CHECKINS_PER_SECOND", 25),
            checkin_poll_s=_positive_float("CHECKIN_POLL_S", get("CHECKIN_POLL_S"), 20.0),
        )
