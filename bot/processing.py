"""Concurrent update processing that keeps each user's updates in order and bounded.

PTB's `concurrent_updates` runs updates as parallel tasks, at most N at once (a semaphore);
this processor adds, per user:
- ordering: a FIFO lock per user, so two photos from one person are answered in the order sent
  while different people are served in parallel. An update waits for its user's turn *before*
  taking one of the N global slots, so a user's queue holds nothing that others need;
- a bound: at most `max_pending_per_user` updates of one user waiting or running; beyond that
  they are dropped (a dropped button press still gets its empty answer), so one person cannot
  queue unbounded work.
Each update is traced and logged as one line by `logs.logged_update`, dropped ones included.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from .logs import logged_update


def order_key(update: object) -> int | None:
    """Whose queue an update joins: its sender, or its chat when it has no sender of its own."""
    if not isinstance(update, Update):
        return None
    message = update.effective_message
    user = update.effective_user
    if user is not None and not (message is not None and message.sender_chat is not None):
        return user.id
    return update.effective_chat.id if update.effective_chat else None


async def _answer_dropped(update: Update) -> None:
    """A dropped button press is still answered (empty), or its spinner would spin on."""
    if update.callback_query is None:
        return
    try:
        await update.callback_query.answer()
    except TelegramError:
        pass  # too old or unreachable: the spinner stops by itself


class UserOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int, *, max_pending_per_user: int, log_key: bytes) -> None:
        super().__init__(max_concurrent_updates)
        self.max_pending_per_user = max_pending_per_user
        self._log_key = log_key
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, int] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    # PTB marks process_update final because it owns the global semaphore; this override still
    # takes it through super(), only later: after the user's turn has come.
    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:  # type: ignore[misc]
        with logged_update(update, self._log_key) as trace:
            key = order_key(update)
            if key is None:
                await super().process_update(update, coroutine)
                return
            if self._pending.get(key, 0) >= self.max_pending_per_user:
                coroutine.close()  # type: ignore[attr-defined]
                await _answer_dropped(update)
                trace.done("dropped_queue_full")
                return
            self._pending[key] = self._pending.get(key, 0) + 1
            lock = self._locks.setdefault(key, asyncio.Lock())
            try:
                async with lock:
                    await super().process_update(update, coroutine)
            finally:
                self._pending[key] -= 1
                if self._pending[key] == 0:
                    del self._pending[key]
                    self._locks.pop(key, None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine
