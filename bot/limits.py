"""Per-user flood control: a sliding window per kind of work, pure and clock-injected so it is testable."""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum


class Verdict(str, Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first refusal in a window: tell the user once
    DROP = "drop"  # later refusals: ignore silently


class FloodGate:
    def __init__(self, per_window: int, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._warned_until: dict[int, float] = {}

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        hits = self._hits.setdefault(user_id, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) < self.per_window:
            hits.append(now)
            self._sweep(now)
            return Verdict.ALLOW
        if self._warned_until.get(user_id, 0.0) > now:
            return Verdict.DROP
        self._warned_until[user_id] = hits[0] + self.window_s
        return Verdict.WARN

    def _sweep(self, now: float) -> None:
        # Forget idle users so memory stays proportional to recently active ones.
        if len(self._hits) < 4096:
            return
        for uid in [u for u, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
            self._hits.pop(uid, None)
            self._warned_until.pop(uid, None)


class Floods:
    """The flood limits the handlers ask before doing work: one gate per kind, per user."""

    KINDS = ("photo", "text", "press")

    def __init__(self, photos_per_minute: int, texts_per_minute: int, presses_per_minute: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.gates = {"photo": FloodGate(photos_per_minute, clock=clock),
                      "text": FloodGate(texts_per_minute, clock=clock),
                      "press": FloodGate(presses_per_minute, clock=clock)}

    def check(self, kind: str, user_id: int) -> Verdict:
        return self.gates[kind].check(user_id)

    def limit(self, kind: str) -> int:
        return self.gates[kind].per_window
