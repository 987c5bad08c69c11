"""Concurrent update processing that keeps each user's updates in order and bounded.

PTB's `concurrent_updates` runs updates as parallel tasks; this processor adds, per user:
- ordering: a FIFO lock per user, so two photos from one person are answered in the order sent
  while different people are served in parallel;
- a bound: at most `max_pending` updates of one user waiting; beyond that they are dropped
  (logged), so one person cannot queue unbounded work;
- flood control for photos, decided on arrival (not when the queue reaches them);
- the one log line per update, with latency and the outcome the handlers recorded.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from .limits import FloodGate, Verdict
from .logs import UPDATES, UpdateTrace, set_trace, user_tag


def update_kind(update: object) -> str:
    if not isinstance(update, Update):
        return "other"
    if update.callback_query:
        return "callback"
    msg = update.effective_message
    if msg is None:
        return "other"
    if msg.photo:
        return "photo"
    if msg.document:
        return "document"
    if msg.text:
        return "command" if msg.text.startswith("/") else "text"
    for kind in ("sticker", "video", "video_note", "voice", "audio", "animation"):
        if getattr(msg, kind, None):
            return kind
    return "other"


class UserOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int, *, max_pending_per_user: int,
                 flood: FloodGate, log_key: bytes) -> None:
        super().__init__(max_concurrent_updates)
        self.max_pending_per_user = max_pending_per_user
        self.flood = flood
        self._log_key = log_key
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, int] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        user = update.effective_user if isinstance(update, Update) else None
        key = user.id if user else (update.effective_chat.id if isinstance(update, Update)
                                    and update.effective_chat else None)
        trace = UpdateTrace(update_id=getattr(update, "update_id", -1), kind=update_kind(update),
                            user=user_tag(user.id if user else None, self._log_key))
        set_trace(trace)
        if key is None:
            await self._run(coroutine, trace, started)
            return
        if self._pending.get(key, 0) >= self.max_pending_per_user:
            coroutine.close()  # type: ignore[attr-defined]
            trace.done("dropped_queue_full")
            UPDATES.info(trace.line((time.perf_counter() - started) * 1000))
            return
        if trace.kind in ("photo", "document"):
            verdict = self.flood.check(key)
            if verdict is Verdict.DROP:
                coroutine.close()  # type: ignore[attr-defined]
                trace.done("dropped_flood")
                UPDATES.info(trace.line((time.perf_counter() - started) * 1000))
                return
            trace.flood = verdict.value
        self._pending[key] = self._pending.get(key, 0) + 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                await self._run(coroutine, trace, started)
        finally:
            self._pending[key] -= 1
            if self._pending[key] == 0:
                del self._pending[key]
                self._locks.pop(key, None)

    @staticmethod
    async def _run(coroutine: Awaitable[Any], trace: UpdateTrace, started: float) -> None:
        try:
            await coroutine
        finally:
            UPDATES.info(trace.line((time.perf_counter() - started) * 1000))
