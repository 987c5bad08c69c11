"""Receiving updates without letting one bad update stop the bot.

PTB parses a whole getUpdates batch at once (`Update.de_list`): one update it cannot parse (a
type or field newer than the library, or a self-hosted Bot API server's variant) fails the batch,
the offset never moves past it and the bot polls the same batch forever. Here every update is
parsed on its own; one that fails becomes a bare `Update(update_id=…)`, which no handler matches,
so the offset moves on. The skip is logged once, with the update id and the exception type only
(the raw update holds user ids, names and texts).
"""
from __future__ import annotations

import datetime as dtm
import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Update
from telegram.ext import ExtBot
from telegram.request import BaseRequest

LOG = logging.getLogger("bot.updates")

# The update types the handlers in bot/handlers.py and bot/reach.py act on (messages, button
# presses, inline queries and chosen inline results); asking
# for no others keeps unused types, and their parsing failures, away from the bot.
ALLOWED_UPDATES: tuple[str, ...] = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY,
                                     Update.CHOSEN_INLINE_RESULT)


def parse_update(data: Any, bot: ExtBot | None) -> Update | None:
    """One raw update as an `Update`; a bare one (skipped by every handler) if it cannot be
    parsed but has an update id; None if it has not even that."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    try:
        update = Update.de_json(data, bot)
    except Exception as exc:  # any failure inside the library's parser: skip this update only
        LOG.warning("update=%d skipped: it could not be parsed (%s)", update_id, type(exc).__name__)
        return Update(update_id=update_id)
    if bot is not None:
        bot.insert_callback_data(update)
    return update


class TolerantBot(ExtBot):
    """ExtBot whose get_updates skips unparseable updates instead of failing the batch, and
    reports each completed round (the liveness heartbeat is based on it)."""

    def __init__(self, *args: Any, on_updates: Callable[[int], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_updates = on_updates

    def set_on_updates(self, callback: Callable[[int], None] | None) -> None:
        self._on_updates = callback

    async def get_updates(  # type: ignore[override]
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: int | dtm.timedelta | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
        api_kwargs: dict[str, Any] | None = None,
    ) -> tuple[Update, ...]:
        data = {"timeout": timeout, "offset": offset, "limit": limit, "allowed_updates": allowed_updates}
        # As Bot.get_updates: the long-poll timeout is added to the request's read timeout.
        if read_timeout is BaseRequest.DEFAULT_NONE:
            base = self._request[0].read_timeout or 0
        else:
            base = read_timeout or 0
        poll = timeout.total_seconds() if isinstance(timeout, dtm.timedelta) else (timeout or 0)
        result = await self._post(
            "getUpdates", data, read_timeout=base + poll, write_timeout=write_timeout,
            connect_timeout=connect_timeout, pool_timeout=pool_timeout, api_kwargs=api_kwargs)
        updates = tuple(u for u in (parse_update(raw, self) for raw in result or ()) if u is not None)
        if self._on_updates is not None:
            self._on_updates(len(updates))
        return updates
