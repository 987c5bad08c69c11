"""Run the Music Mood Lifter Telegram bot until SIGTERM/SIGINT (then exit 0).

`python -m bot --check` validates the configuration, opens the database for writing (creating
it, as the bot would), loads the models, the catalog and the translations and asks the Bot API
whether it accepts the token (getMe; `--offline` skips that), then exits: 0 when the bot could
start, 2 with one line on stderr when it could not, 3 when the Bot API is unreachable.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .version import version

EXIT_CONFIG = 2
EXIT_TELEGRAM = 3


def _fail(message: str, secrets: tuple[str | None, ...] = ()) -> None:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "<redacted>")
    print(f"error: {message}", file=sys.stderr)


async def _run(config) -> None:
    from .app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def _health(config) -> int:
    from .app import check_health

    healthy, line = check_health(config)
    if not healthy:
        _fail(line)
        return 1
    print(line)
    return 0


def _answered_without_json(exc: BaseException, telegram_error: type) -> bool:
    """PTB chains a plain TelegramError ("Invalid server response") under the HTTP error when
    the answer was not JSON; a real Bot API always answers JSON."""
    cause = exc.__cause__
    while cause is not None:
        if type(cause) is telegram_error:
            return True
        cause = cause.__cause__
    return False


async def _open_database(config) -> None:
    """Open the history for writing and close it again, exactly as the bot opens it."""
    from .app import open_history

    store = await open_history(config)
    await store.close()


async def _get_me(config) -> str:
    """Ask the Bot API who the token belongs to (getMe), as the bot does first at start."""
    from .app import build_bot

    async with build_bot(config) as bot:
        return bot.username


def _telegram_failure(exc: BaseException, config) -> int:
    """`--check`'s one line and exit status when the Bot API refused or could not be reached."""
    from telegram.error import InvalidToken, TelegramError

    if isinstance(exc, InvalidToken) and not _answered_without_json(exc, TelegramError):
        _fail("Telegram rejected TELEGRAM_BOT_TOKEN (unauthorized); copy the token from @BotFather again")
        return EXIT_CONFIG
    if isinstance(exc, InvalidToken):
        _fail(f"TELEGRAM_API_URL {config.api_url} did not answer like the Telegram Bot API "
              "(an HTTP error without the API's JSON): check the URL", config.secrets)
        return EXIT_CONFIG
    _fail(f"cannot reach the Telegram Bot API at {config.api_url}: {exc}", config.secrets)
    return EXIT_TELEGRAM


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="validate configuration, load models and catalog, then exit")
    mode.add_argument("--health", action="store_true",
                      help="exit 0 if the running bot wrote its heartbeat recently (Docker HEALTHCHECK)")
    parser.add_argument("--offline", action="store_true",
                        help="with --check: skip asking the Bot API whether it accepts the token")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    args = parser.parse_args(argv)

    from .config import load_env_file

    load_env_file()

    from telegram.error import InvalidToken, NetworkError, TelegramError

    from recommender.store.sqlite import DatabaseUnusable

    from . import logs
    from .config import Config, ConfigError
    from .webhook import ListenError

    try:
        config = Config.from_env()
    except ConfigError as exc:
        _fail(str(exc))
        return EXIT_CONFIG
    secrets = config.secrets
    logs.configure(config.log_level, secrets)

    if args.health:
        return _health(config)

    if args.check:
        from .app import load_catalog, load_pipeline

        try:
            asyncio.run(_open_database(config))
        except DatabaseUnusable as exc:
            _fail(str(exc))
            return EXIT_CONFIG
        from .i18n import Languages

        try:
            catalog = load_catalog(config)
            load_pipeline()
            languages = Languages.load()
        except Exception as exc:  # a missing model, catalog or translation: say which, in one line
            _fail(f"cannot start: {type(exc).__name__}: {exc}", secrets)
            return EXIT_CONFIG
        for warning in languages.warnings:  # e.g. a language added by the README's step 1 only
            print(f"warning: {warning}", file=sys.stderr)
        bot_name = "not asked (--offline)"
        if not args.offline:
            try:
                bot_name = "@" + asyncio.run(_get_me(config))
            except (InvalidToken, NetworkError) as exc:
                return _telegram_failure(exc, config)
        print(f"ok: config valid; {len(catalog)} songs in {len(catalog.moods)} moods; models loaded; "
              f"languages: {' '.join(lang.code for lang in languages)}; "
              f"mode={'webhook' if config.webhook_mode else 'polling'}; database={config.database}; "
              f"Bot API: {bot_name}")
        return 0

    try:
        asyncio.run(_run(config))
    except (DatabaseUnusable, ListenError) as exc:
        _fail(str(exc))
        return EXIT_CONFIG
    except InvalidToken as exc:
        if _answered_without_json(exc, TelegramError):  # not the Bot API at all: a wrong URL
            _fail(f"TELEGRAM_API_URL {config.api_url} did not answer like the Telegram Bot API "
                  "(an HTTP error without the API's JSON): check the URL", secrets)
            return EXIT_CONFIG
        _fail("Telegram rejected TELEGRAM_BOT_TOKEN (unauthorized); copy the token from @BotFather again")
        return EXIT_CONFIG
    except NetworkError as exc:
        _fail(f"cannot reach the Telegram Bot API at {config.api_url}: {exc}", secrets)
        return EXIT_TELEGRAM
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
