"""Build the PTB Application and run it (polling or webhook) until asked to stop.

`python -m bot` and the tests go through the same two functions, `build_application` and
`serve`, so what the tests drive is what users talk to. `serve` runs the Application's own
lifecycle (initialize → start → updater.start_polling / start_webhook → stop → shutdown), the
steps PTB's run_polling/run_webhook take, but as a coroutine: the caller owns the event loop and
the stop signal (python -m bot: SIGTERM/SIGINT; tests: an Event).
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from telegram import Bot, BotCommand
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.store.base import HistoryStore
from recommender.store.sqlite import SQLiteHistoryStore

from . import handlers, texts
from . import reach
from .checkin import CheckinSender, start_sender
from .config import BOT_API_CONNECTIONS, Config
from .i18n import SOURCE, Language, Languages
from .version import version
from .logs import log_key
from .looplag import watch_loop_lag
from .outage import Outage, describe
from .processing import UserOrderedProcessor, parked
from .services import KEY, Services
from .tls import client_tls
from .updates import ALLOWED_UPDATES, TolerantBot
from .webhook import WebhookServer

if TYPE_CHECKING:
    from recommender.music.spotify import Enricher
    from recommender.pipeline import Pipeline

LOG = logging.getLogger("bot")
T = TypeVar("T")


class MessageRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter for messages, but chat actions ("typing…") bypass it; and, since
    every Bot API call but getUpdates passes through here, the one place that retries transient
    network errors so a reply is not lost.

    Telegram's 30/s and 20/min-per-group limits are about messages; counting the cosmetic chat
    action too doubles the requests queued in a burst (docs/benchmarks.md). RetryAfter (flood
    wait) is waited out by AIORateLimiter itself. BadRequest and Forbidden are NetworkError
    subclasses in PTB but final, so they are never retried. A message to a group may wait
    minutes for its group's turn: it waits parked, without the update's processing slot.
    """

    network_attempts = 3

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[override]
        if endpoint == "sendChatAction":  # cosmetic: neither counted nor retried
            return await callback(*args, **kwargs)
        if endpoint == "getUpdates":  # the updater has its own back-off
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        if not _to_group(data):
            return await self._send(callback, args, kwargs, endpoint, data, rate_limit_args)
        async with parked():
            return await self._send(callback, args, kwargs, endpoint, data, rate_limit_args)

    async def _send(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[no-untyped-def]
        for attempt in range(1, self.network_attempts + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                     rate_limit_args)
            except (BadRequest, Forbidden):
                raise
            except NetworkError:
                if attempt == self.network_attempts:
                    raise
                await asyncio.sleep(0.5 * attempt)  # back-off before resending, not synchronisation
        raise AssertionError("unreachable")


def _to_group(data: dict[str, object]) -> bool:
    """Whether AIORateLimiter holds this request to a group's 20 a minute (its own test)."""
    chat_id = data.get("chat_id")
    if isinstance(chat_id, str):
        try:
            chat_id = int(chat_id)
        except ValueError:
            return True  # "@channelname"
    return isinstance(chat_id, int) and chat_id < 0


def build_bot(config: Config) -> TolerantBot:
    return TolerantBot(
        config.token,
        base_url=config.api_url,
        base_file_url=config.file_url,
        request=HTTPXRequest(connection_pool_size=BOT_API_CONNECTIONS, connect_timeout=10, read_timeout=20,
                             write_timeout=30, pool_timeout=30, httpx_kwargs={"verify": client_tls()}),
        # Two connections and a short pool wait: the last getUpdates at shutdown (which confirms
        # the offset) must not wait behind the long poll it just cancelled.
        get_updates_request=HTTPXRequest(connection_pool_size=2, connect_timeout=10, read_timeout=20,
                                         write_timeout=30, pool_timeout=2,
                                         httpx_kwargs={"verify": client_tls()}),
        # Telegram's outgoing limits (30 msg/s overall, 20/min per group), and RetryAfter is
        # waited out and retried instead of losing the reply.
        rate_limiter=MessageRateLimiter(overall_max_rate=config.messages_per_second, max_retries=3),
    )


def spare_sniffio_lookups() -> None:
    """httpcore imports sniffio on every request and connection release to tell asyncio from trio;
    anyio no longer installs it, and each failed import walks sys.path (~50 µs, several times a
    request). Marked absent, the import fails at once and httpcore assumes asyncio, as it did."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def build_application(config: Config) -> Application:
    spare_sniffio_lookups()
    processor = UserOrderedProcessor(
        config.max_concurrent_updates,
        max_pending_per_user=config.max_pending_per_user,
        log_key=log_key(config.token),
    )
    builder = (
        ApplicationBuilder()
        .bot(build_bot(config))
        .concurrent_updates(processor)
        .job_queue(None)
    )
    if config.webhook_mode:
        builder = builder.updater(None)  # bot.webhook.WebhookServer receives the updates
    app = builder.build()
    handlers.register(app)
    reach.register(app)  # inline mode, deep links, /checkin, a group's mood (issue 27)
    return app


async def open_history(config: Config) -> HistoryStore:
    """PostgreSQL when DATABASE_URL is set (several replicas), else the SQLite file; raises
    DatabaseUnusable with one line when it cannot be used."""
    if config.database_url:
        from recommender.store.postgres import PostgresHistoryStore

        return await PostgresHistoryStore.open(config.database_url, max_per_user=config.max_history_per_user)
    return await SQLiteHistoryStore.open(config.database_path, max_per_user=config.max_history_per_user)


def load_pipeline() -> Pipeline:
    from recommender.pipeline import Pipeline  # heavy imports (OpenCV, LiteRT) only when serving

    return Pipeline.load()


def load_catalog(config: Config) -> Catalog:
    return Catalog.load(config.catalog_path)


def load_enricher(config: Config) -> Enricher | None:
    """Spotify enrichment when credentials are set (optional: the catalog alone is enough)."""
    if config.spotify is None:
        return None
    from recommender.music.spotify import Enricher

    return Enricher.connect(config.spotify)


async def start_services(app: Application, config: Config, *, pipeline: Pipeline | None = None,
                         catalog: Catalog | None = None) -> Services:
    """Open the history, load + warm the models and the translations once."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="analyze")
    store = await open_history(config)
    try:
        # Side by side (cold start): the models load mostly in native code, the catalog and the
        # translations in Python.
        pipeline, catalog, languages = await asyncio.gather(
            _given(pipeline) if pipeline is not None else loop.run_in_executor(executor, load_pipeline),
            _given(catalog) if catalog is not None else loop.run_in_executor(executor, load_catalog, config),
            loop.run_in_executor(None, Languages.load))
    except BaseException:
        await store.close()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    services = Services(config=config, pipeline=pipeline,
                        songs=SongService(catalog, store, load_enricher(config)),
                        executor=executor, bot_username=app.bot.username, languages=languages)
    app.bot_data[KEY] = services
    return services


async def _given(value: T) -> T:
    return value


async def publish_profile(bot: Bot, languages: list[Language]) -> tuple[list[Language], TelegramError | None]:
    """The command menu, the description and the short description in every language the bot
    speaks (Telegram shows the one of the app's language; with no language_code, English).
    Cosmetic: a refusal is logged and the bot serves anyway. Returns the languages left for later
    and why: a network error ends the round (the rest would fail the same way)."""
    pending = list(languages)
    while pending:
        language = pending[0]
        code = None if language.code == SOURCE else language.api_code
        try:
            await bot.set_my_commands([BotCommand(n, t) for n, t in texts.commands(language.tr)],
                                      language_code=code)
            await bot.set_my_description(texts.description(language.tr), language_code=code)
            await bot.set_my_short_description(texts.short_description(language.tr), language_code=code)
        except (BadRequest, Forbidden) as exc:  # Telegram refused this text: retrying cannot help
            LOG.warning("profile in %s not published: %s", language.code, exc)
        except TelegramError as exc:
            return pending, exc
        pending.pop(0)
    return [], None


async def keep_publishing(bot: Bot, languages: Languages, outage: Outage, stop: asyncio.Event,
                          retry_s: float = 30.0) -> None:
    """publish_profile until every language is out: again as soon as updates flow after an
    outage, else after retry_s, doubling up to 10 min. One line when it falls behind, one when done."""
    pending, error = await publish_profile(bot, list(languages))
    if not pending:
        return
    LOG.warning("command menus and profile not published yet in %s (%s): retrying until they are",
                " ".join(lang.code for lang in pending), describe(error) if error else "?")
    while pending and not stop.is_set():
        await _wait_any([stop, outage.recovered], retry_s)
        outage.recovered.clear()
        if stop.is_set():
            return
        pending, error = await publish_profile(bot, pending)
        retry_s = min(2 * retry_s, 600.0)
    if not pending:
        LOG.info("command menus and profile published in every language")


async def stop_services(app: Application) -> None:
    services: Services | None = app.bot_data.pop(KEY, None)
    if services is None:
        return
    # Let running analyses finish (their replies are already committed or about to be).
    await asyncio.get_running_loop().run_in_executor(None, services.executor.shutdown, True)
    await services.close()


async def serve(config: Config, stop: asyncio.Event, *, pipeline: Pipeline | None = None,
                catalog: Catalog | None = None,
                on_ready: Callable[[Application], None] | None = None) -> None:
    """Run the bot until `stop` is set, then shut down cleanly.

    Raises telegram.error.InvalidToken if Telegram rejects the token (checked first, before
    the models are loaded), NetworkError if the Bot API cannot be reached and
    recommender.store.sqlite.DatabaseUnusable if the history cannot be opened.
    """
    app = build_application(config)
    bot: TolerantBot = app.bot  # type: ignore[assignment]
    liveness = Liveness()
    server: WebhookServer | None = None
    heartbeat: asyncio.Task[None] | None = None
    lag_watch = asyncio.create_task(watch_loop_lag(report_ms=config.loop_lag_log_ms), name="loop_lag")
    checkins: CheckinSender | None = None
    try:
        await app.initialize()  # calls getMe: a rejected token fails here
    except BaseException:
        await _steps(("app.shutdown", app.shutdown), ("loop lag watch", lambda: _cancel(lag_watch)))
        raise
    try:
        services = await start_services(app, config, pipeline=pipeline, catalog=catalog)
        await app.start()
        # Beside serving, not before it: ~20 calls that would delay every restart (app.stop awaits it).
        outage = Outage()
        app.create_task(keep_publishing(app.bot, services.languages, outage, stop), name="publish_profile")
        if config.webhook_mode:
            assert config.webhook_url and config.webhook_secret
            server = WebhookServer(app, listen=config.webhook_listen, port=config.port,
                                   path=config.webhook_path, secret=config.webhook_secret,
                                   on_update=liveness.mark, claim=app.bot_data[KEY].store.claim_update)
            await server.start()  # listening before Telegram is told where to call
            await app.bot.set_webhook(url=config.webhook_url, secret_token=config.webhook_secret,
                                      allowed_updates=list(ALLOWED_UPDATES))
            LOG.info("webhook server listening on %s:%d/%s", config.webhook_listen, config.port,
                     config.webhook_path)
        else:
            assert app.updater is not None
            def received(count: int) -> None:
                liveness.mark()
                outage.reached()

            bot.set_on_updates(received)
            # error_callback: an outage is logged per state change (bot/outage.py), not per retry.
            await app.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES),
                                            timeout=poll_timeout(config), error_callback=outage.failed)
            LOG.info("polling for updates")
        LOG.info("bot @%s ready (music-mood-lifter %s)", app.bot.username, version())
        heartbeat = asyncio.create_task(_heartbeat(app, stop, config, liveness,
                                                   server.probe if server is not None else None))
        checkins = start_sender(app)
        if on_ready is not None:
            on_ready(app)
        await stop.wait()
        LOG.info("stopping")
    finally:
        # Every step runs even if an earlier one failed: a half-stopped bot would never exit.
        await _steps(
            ("heartbeat", lambda: _finish(heartbeat, stop)),
            ("check-ins", checkins.stop if checkins is not None else _nothing),
            ("webhook server", server.stop if server is not None else _nothing),
            ("updater.stop", app.updater.stop if app.updater is not None and app.updater.running
             else _nothing),
            ("app.stop", app.stop if app.running else _nothing),  # waits for updates in progress
            ("services", lambda: stop_services(app)),
            ("app.shutdown", app.shutdown),
            ("loop lag watch", lambda: _cancel(lag_watch)),
        )


def poll_timeout(config: Config) -> int:
    """Long-poll seconds: an idle bot completes a getUpdates round well within a heartbeat."""
    return max(1, min(10, int(config.heartbeat_s / 3)))


async def _nothing() -> None:
    return None


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _finish(task: asyncio.Task[None] | None, stop: asyncio.Event) -> None:
    if task is None:
        return
    if not stop.is_set():  # leaving on an error: the loop would wait for a stop that never comes
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _steps(*steps: tuple[str, Callable[[], Awaitable[object]]]) -> None:
    for name, step in steps:
        try:
            await step()
        except Exception as exc:  # noqa: BLE001  (logged; the remaining steps must still run)
            LOG.error("shutdown step %s failed (%s); continuing with the rest", name, type(exc).__name__)


class Liveness:
    """When the bot last showed it can receive updates: a completed getUpdates round (polling),
    or an update or liveness probe served by its webhook server."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.changed = asyncio.Event()

    def mark(self) -> None:
        self.at = time.time()
        self.changed.set()


async def _wait_any(events: list[asyncio.Event], timeout: float) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _heartbeat(app: Application, stop: asyncio.Event, config: Config, liveness: Liveness,
                     probe: Callable[[], Awaitable[bool]] | None) -> None:
    """Write the time the bot last received updates (see Liveness) into the database, at most
    every heartbeat_s: `python -m bot --health` (the Docker HEALTHCHECK) fails when it is old, so
    a bot that cannot fetch updates is seen as unhealthy however idle it looks. Nothing is written
    once the database file was deleted or replaced under the running bot."""
    services: Services = app.bot_data[KEY]
    store = services.store
    written: float | None = None
    started = time.time()
    stale_warned = db_reported = False
    while not stop.is_set():
        if probe is not None and await probe():
            liveness.mark()
        problem = getattr(store, "file_problem", lambda: None)()
        if problem is not None:
            if not db_reported:
                LOG.error("%s", problem)
                db_reported = True
        elif liveness.at is not None and liveness.at != written:
            try:
                await store.heartbeat(liveness.at, config.replica)
                written = liveness.at
            except Exception as exc:  # a full disk must not stop the bot; the check will notice
                LOG.warning("heartbeat not written: %s", type(exc).__name__)
            if stale_warned:
                LOG.info("updates are being received again")
                stale_warned = False
        elif not stale_warned and time.time() - (liveness.at or started) > 2 * config.heartbeat_s:
            LOG.warning("no updates received for %.0f s: heartbeat withheld, --health will fail",
                        time.time() - (liveness.at or started))
            stale_warned = True
        liveness.changed.clear()
        # The first beat as soon as updates flow (a health check right after start passes).
        events = [stop] if written is not None else [stop, liveness.changed]
        await _wait_any(events, config.heartbeat_s)
    # A clean stop: --health fails at once and a restore need not wait for the beat to age.
    if written is not None and getattr(store, "file_problem", lambda: None)() is None:
        try:
            await store.stopped(config.replica)
        except Exception as exc:  # noqa: BLE001  (the beat then just ages out)
            LOG.warning("heartbeat not removed at stop: %s", type(exc).__name__)


def check_health(config: Config, now: float | None = None) -> tuple[bool, str]:
    """What `python -m bot --health` says: (healthy, one line)."""
    if config.database_url:
        try:
            beat = asyncio.run(_postgres_heartbeat(config))
        except Exception as exc:  # unreachable, refused, timed out: unhealthy, in one line
            return False, f"database {config.database} unreachable: {type(exc).__name__}"
    else:
        from recommender.store.sqlite import read_heartbeat

        beat = read_heartbeat(config.database_path)
    if beat is None:
        return False, (f"no heartbeat in {config.database} for {config.replica}: the bot is not running "
                       "(yet), or the database is not the one it writes to")
    age = (time.time() if now is None else now) - beat
    if age > 3 * config.heartbeat_s:
        return False, f"last updates received {age:.0f} s ago: the bot is stuck or stopped"
    return True, f"ok: heartbeat {age:.0f} s ago"


async def _postgres_heartbeat(config: Config) -> float | None:
    from recommender.store.postgres import PostgresHistoryStore

    store = await PostgresHistoryStore.open(config.database_url, max_connections=1, timeout=5.0, read_only=True)
    try:
        return await store.read_heartbeat(config.replica)
    finally:
        await store.close()
