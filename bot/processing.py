"""Concurrent update processing that keeps each user's updates in order and bounded.

PTB's `concurrent_updates` runs updates as parallel tasks, at most N at once (a semaphore);
this processor adds, per user:
- ordering: a FIFO lock per user, so two photos from one person are answered in the order sent
  while different people are served in parallel. An update waits for its user's turn *before*
  taking one of the N global slots, so a user's queue holds nothing that others need;
- a bound: at most `max_pending_per_user` updates of one user waiting or running; beyond that
  they are dropped (a dropped button press still gets its empty answer), so one person cannot
  queue unbounded work;
- parking: an update that waits on something with its own limit (Telegram's 20 messages a
  minute per group, the chart pool) gives its slot back meanwhile (`parked()`), so a busy group
  or a burst of /diary cannot take the slots everyone else needs.
Each update is traced and logged as one line by `logs.logged_update`, dropped ones included.
"""
from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


@dataclass
class _Slot:
    """One update's hold on a processing slot, known to the task that runs the update."""

    slots: asyncio.Semaphore
    task: asyncio.Task[Any] | None
    held: bool = False

    async def take(self) -> None:
        await self.slots.acquire()  # cancelled here: not held, so nothing to give back
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()


_SLOT: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("processing_slot", default=None)


@asynccontextmanager
async def parked() -> AsyncIterator[None]:
    """Wait without the current update's processing slot, and take one again after.

    Outside an update (or in a task the update started, which holds no slot) it does nothing."""
    slot = _SLOT.get()
    if slot is None or not slot.held or slot.task is not asyncio.current_task():
        yield
        return
    slot.give_back()
    try:
        yield
    finally:
        await slot.take()


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
        # Our own slots rather than PTB's semaphore: an update may give its slot back (parked()).
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._running = 0

    @property
    def current_concurrent_updates(self) -> int:
        return self._running

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    # PTB marks process_update final because it owns the global semaphore; this override takes
    # a slot of its own instead, only after the user's turn has come.
    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:  # type: ignore[misc]
        with logged_update(update, self._log_key) as trace:
            key = order_key(update)
            if key is None:
                await self._in_slot(update, coroutine)
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
                    await self._in_slot(update, coroutine)
            finally:
                self._pending[key] -= 1
                if self._pending[key] == 0:
                    del self._pending[key]
                    self._locks.pop(key, None)

    async def _in_slot(self, update: object, coroutine: Awaitable[Any]) -> None:
        slot = _Slot(self._slots, asyncio.current_task())
        try:
            await slot.take()
        except BaseException:
            coroutine.close()  # type: ignore[attr-defined]  # never started: no "never awaited" warning
            raise
        token = _SLOT.set(slot)
        self._running += 1
        try:
            await self.do_process_update(update, coroutine)
        finally:
            self._running -= 1
            _SLOT.reset(token)
            slot.give_back()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine
