"""Build the PTB Application and run it (polling or webhook) until asked to stop.

`python -m bot` and the tests go through the same two functions, `build_application` and
`serve`, so what the tests drive is what users talk to. `serve` runs the Application's own
lifecycle (initialize → start → updater.start_polling / start_webhook → stop → shutdown), the
steps PTB's run_polling/run_webhook take, but as a coroutine: the caller owns the event loop and
the stop signal (python -m bot: SIGTERM/SIGINT; tests: an Event).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from telegram import BotCommand, Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.store.sqlite import SQLiteHistoryStore

from . import handlers, texts
from .config import Config
from .logs import log_key
from .processing import UserOrderedProcessor
from .services import KEY, Services

if TYPE_CHECKING:
    from recommender.music.spotify import Enricher
    from recommender.pipeline import Pipeline

LOG = logging.getLogger("bot")
HEARTBEAT_S = 30.0


class MessageRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter for messages, but chat actions ("typing…") bypass it; and, since
    every Bot API call but getUpdates passes through here, the one place that retries transient
    network errors so a reply is not lost.

    Telegram's 30/s and 20/min-per-group limits are about messages; counting the cosmetic chat
    action too doubles the requests queued in a burst (docs/benchmarks.md). RetryAfter (flood
    wait) is waited out by AIORateLimiter itself. BadRequest and Forbidden are NetworkError
    subclasses in PTB but final, so they are never retried.
    """

    network_attempts = 3

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[override]
        if endpoint == "sendChatAction":  # cosmetic: neither counted nor retried
            return await callback(*args, **kwargs)
        if endpoint == "getUpdates":  # the updater has its own back-off
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
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


def build_application(config: Config) -> Application:
    processor = UserOrderedProcessor(
        config.max_concurrent_updates,
        max_pending_per_user=config.max_pending_per_user,
        log_key=log_key(config.token),
    )
    app = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_url)
        .base_file_url(config.file_url)
        .concurrent_updates(processor)
        # Telegram's outgoing limits (30 msg/s overall, 20/min per group), and RetryAfter is
        # waited out and retried instead of losing the reply.
        .rate_limiter(MessageRateLimiter(max_retries=3))
        .connection_pool_size(64)
        .connect_timeout(10).read_timeout(20).write_timeout(30).pool_timeout(30)
        .job_queue(None)
        .build()
    )
    handlers.register(app)
    return app


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
    """Open the history, load + warm the models once, publish the command menu."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="analyze")
    store = await SQLiteHistoryStore.open(config.database_path, max_per_user=config.max_history_per_user)
    try:
        if pipeline is None:
            pipeline = await loop.run_in_executor(executor, load_pipeline)
        if catalog is None:
            catalog = await loop.run_in_executor(executor, load_catalog, config)
    except BaseException:
        await store.close()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    services = Services(config=config, pipeline=pipeline,
                        songs=SongService(catalog, store, load_enricher(config)),
                        executor=executor, bot_username=app.bot.username)
    app.bot_data[KEY] = services
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in texts.COMMANDS])
    return services


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
    the models are loaded) and NetworkError if the Bot API cannot be reached.
    """
    app = build_application(config)
    async with app:  # initialize() calls getMe: a rejected token fails here
        await start_services(app, config, pipeline=pipeline, catalog=catalog)
        assert app.updater is not None
        try:
            await app.start()
            if config.webhook_mode:
                await app.updater.start_webhook(
                    listen=config.webhook_listen, port=config.port, url_path=config.webhook_path,
                    webhook_url=config.webhook_url, secret_token=config.webhook_secret,
                    allowed_updates=Update.ALL_TYPES)
                LOG.info("webhook server listening on %s:%d/%s", config.webhook_listen, config.port,
                         config.webhook_path)
            else:
                await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                LOG.info("polling for updates")
            LOG.info("bot @%s ready", app.bot.username)
            heartbeat = asyncio.create_task(_heartbeat(app, stop))
            if on_ready is not None:
                on_ready(app)
            await stop.wait()
            LOG.info("stopping")
            await heartbeat
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()  # waits for the updates being processed
            await stop_services(app)


async def _heartbeat(app: Application, stop: asyncio.Event) -> None:
    """Every HEARTBEAT_S, while updates are being received, note it in the database: the Docker
    HEALTHCHECK (`python -m bot --health`) reads it, so a hung bot is seen as unhealthy."""
    services: Services = app.bot_data[KEY]
    while not stop.is_set():
        if app.updater is not None and app.updater.running:
            try:
                await services.store.heartbeat()
            except Exception as exc:  # a full disk must not stop the bot; the check will notice
                LOG.warning("heartbeat not written: %s", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
        except TimeoutError:
            pass
