"""All of the bot's configuration, read from the environment (and an optional .env) in one place."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

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
    """Read .env beside the code, wherever the bot is started from; the real environment wins.
    MML_ENV_FILE names another file (the tests point it at an empty one, never the user's)."""
    from dotenv import load_dotenv

    load_dotenv(os.environ.get("MML_ENV_FILE") or directory / ".env", override=False)


def _bot_api_url(name: str, value: str | None, default: str) -> str:
    """A Bot API base URL; PTB appends the token to it, so it must end in /bot (or hold {token})."""
    if value is None:
        return default
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(f"{name} must be an http(s) URL like {default}, got {value!r}")
    if not url.path.endswith("/bot") and "{token}" not in value:
        raise ConfigError(f"{name} must end in {urlsplit(default).path} (the token is appended to it), "
                          f"e.g. {url.scheme}://{url.netloc}{urlsplit(default).path}")
    return value


def database_path(env: Mapping[str, str] | None = None) -> Path:
    """DATABASE_PATH, or the default SQLite file."""
    env = os.environ if env is None else env
    return Path((env.get("DATABASE_PATH") or "").strip() or DEFAULT_DATABASE_PATH)


def history_location(env: Mapping[str, str] | None = None) -> tuple[Path, str | None]:
    """DATABASE_PATH (or the default file) and the PostgreSQL DSN (see `postgres_dsn`), for the
    operator commands (backup, migration, stats) that need no token; raises ConfigError."""
    env = os.environ if env is None else env
    return database_path(env), postgres_dsn(env)


_ENCODE_ADVICE = ("percent-encode it in the URL (e.g. # → %23, / → %2F, ? → %3F, @ → %40) or leave it out "
                  "of DATABASE_URL and set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) instead")


def postgres_dsn(env: Mapping[str, str] | None = None, url: str | None = None) -> str | None:
    """The PostgreSQL DSN from DATABASE_URL (or `url`) and, when the URL holds no password,
    POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE; None when no URL is set.

    The password comes back percent-encoded, whatever it contains. Raises ConfigError naming the
    problem, never any part of the value (it may hold the password)."""
    env = os.environ if env is None else env
    name = "DATABASE_URL" if url is None else "the PostgreSQL URL"
    url = (env.get("DATABASE_URL") or "").strip() if url is None else url.strip()
    if not url:
        return None
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"{name} must be a PostgreSQL URL, postgresql://user:password@host:5432/dbname "
                          "(leave DATABASE_URL unset for the SQLite file at DATABASE_PATH)")
    parts = urlsplit(url)
    if parts.fragment or "#" in url:
        raise ConfigError(f"{name} contains '#': if it is in the password, {_ENCODE_ADVICE}")
    if "@" in parts.path or "@" in parts.query:
        raise ConfigError(f"{name} has an '@' after the host: the password probably contains '/' or '?'; "
                          f"{_ENCODE_ADVICE}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} has a port that is not a number: if the password contains ':' or "
                          f"other special characters, {_ENCODE_ADVICE}") from None
    if not parts.hostname:
        raise ConfigError(f"{name} names no host: postgresql://user:password@host:5432/dbname")
    if port == 0:
        raise ConfigError(f"{name} has port 0: use the server's port, usually 5432")
    password = unquote(parts.password) if parts.password is not None else _password_from(env)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = unquote(userinfo.partition(":")[0])
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    dsn = f"postgresql://{credentials}{'@' if credentials else ''}{hostport}{parts.path}"
    return dsn + (f"?{parts.query}" if parts.query else "")


def _password_from(env: Mapping[str, str]) -> str | None:
    """POSTGRES_PASSWORD, or the first line of the file POSTGRES_PASSWORD_FILE names (Docker secrets)."""
    file = (env.get("POSTGRES_PASSWORD_FILE") or "").strip()
    if file:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"POSTGRES_PASSWORD_FILE {file} cannot be read ({type(exc).__name__})") from None
        return (lines[0] if lines else "") or None
    return env.get("POSTGRES_PASSWORD") or None


def dsn_password(dsn: str | None) -> str | None:
    """The password inside a DSN built by `postgres_dsn`, decoded; None without one."""
    if not dsn:
        return None
    password = urlsplit(dsn).password
    return unquote(password) if password else None


def dsn_where(dsn: str) -> str:
    """host:port/database of a DSN built by `postgres_dsn`, for messages (no credentials)."""
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


class ConfigError(ValueError):
    """A configuration mistake; the message is one line a person can act on."""


# Each of the five models (two detectors, three face models) reads one batch at a time: beyond
# one thread per model and one decoding, more analysis threads only wait for a model's lock.
MAX_DEFAULT_WORKERS = 6


def cpu_cores() -> int:
    """The CPUs this process may use: its CPU affinity, bounded by a cgroup v2 quota (Docker's
    --cpus), which the affinity does not show."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


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


def _delay(name: str, raw: str | None, default: float) -> float:
    """Seconds to wait, 0 (at once) to 60."""
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 60:
        raise ConfigError(f"{name} must be between 0 and 60 seconds, got {raw}")
    return value


# Connections to the Bot API (and to its file server, bot/downloads.py). httpcore checks every pooled
# connection on each request, so 64 cost ~1 ms of the event loop a photo in a burst (docs/benchmarks.md);
# 16 in flight still carry ~160 requests/s at Telegram's ~100 ms, beyond its 30 messages/s.
BOT_API_CONNECTIONS = 16


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
    workers: int = 2  # threads running decode + detection + inference (from the env: cpu_cores())
    max_concurrent_updates: int = 64
    photos_per_minute: int = 10
    texts_per_minute: int = 30  # texts, commands, stickers and the like
    presses_per_minute: int = 30  # "More" presses
    max_pending_per_user: int = 20
    # Photos downloaded or being analysed at once; more wait their turn in arrival order. 16 keep
    # two workers fed at Telegram's download latency and bound a burst's memory (docs/benchmarks.md).
    photos_in_flight: int = 16
    max_download_bytes: int = 10 * 1024 * 1024
    download_timeout_s: int = 30  # getFile + download, then the user is told it took too long
    # "typing…" only for an answer that is slow to come (Telegram's advice for sendChatAction);
    # a quick answer arrives before the indicator could be read, and it is a request less.
    typing_after_s: float = 1.0
    max_history_per_user: int = 2000
    # A second whose event loop ran this late is logged (bot/looplag.py); the bench asks for 10 ms.
    loop_lag_log_ms: float = 100.0
    # Liveness: how often the heartbeat is written; `--health` fails after 3 missed beats.
    heartbeat_s: float = 30.0
    # The daily check-in: messages per second this replica sends at most (Telegram allows ~30 in
    # all, replies included), and how often it looks for check-ins that fell due.
    checkins_per_second: int = 25
    # Messages a second to all chats together: Telegram's documented ~30 (429s beyond); raise it
    # only for a Bot API that allows more (a burst of 100 replies takes ≥ 2.3 s at 30).
    messages_per_second: int = 30
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
        return f"postgresql://{dsn_where(self.database_url)}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What never reaches a log line or an error message."""
        password = dsn_password(self.database_url)
        encoded = quote(password, safe="") if password else None
        return tuple(s for s in (self.token, self.webhook_secret, password, encoded) if s)

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
        database_url = postgres_dsn(env)
        return cls(
            token=token,
            api_url=_bot_api_url("TELEGRAM_API_URL", get("TELEGRAM_API_URL"), DEFAULT_API_URL),
            file_url=_bot_api_url("TELEGRAM_FILE_URL", get("TELEGRAM_FILE_URL"), DEFAULT_FILE_URL),
            database_path=Path(get("DATABASE_PATH") or DEFAULT_DATABASE_PATH),
            database_url=database_url,
            catalog_path=Path(get("CATALOG_PATH") or CATALOG_PATH),
            log_level=log_level,
            spotify=SpotifySettings.from_env(env),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_listen=get("WEBHOOK_LISTEN") or "127.0.0.1",
            port=get_int("PORT", 8080),
            workers=get_int("WORKERS", min(cpu_cores(), MAX_DEFAULT_WORKERS)),
            max_concurrent_updates=get_int("MAX_CONCURRENT_UPDATES", 64),
            photos_per_minute=get_int("PHOTOS_PER_MINUTE", 10),
            texts_per_minute=get_int("TEXTS_PER_MINUTE", 30),
            presses_per_minute=get_int("PRESSES_PER_MINUTE", 30),
            max_pending_per_user=get_int("MAX_PENDING_PER_USER", 20),
            photos_in_flight=get_int("PHOTOS_IN_FLIGHT", 16),
            max_download_bytes=get_int("MAX_DOWNLOAD_BYTES", 10 * 1024 * 1024),
            download_timeout_s=get_int("DOWNLOAD_TIMEOUT_S", 30),
            typing_after_s=_delay("TYPING_AFTER_S", get("TYPING_AFTER_S"), 1.0),
            max_history_per_user=get_int("MAX_HISTORY_PER_USER", 2000),
            loop_lag_log_ms=get_int("LOOP_LAG_LOG_MS", 100),
            checkins_per_second=get_int("CHECKINS_PER_SECOND", 25),
            messages_per_second=get_int("MESSAGES_PER_SECOND", 30),
            checkin_poll_s=_positive_float("CHECKIN_POLL_S", get("CHECKIN_POLL_S"), 20.0),
        )
