"""Bot API outages in the log as state changes, not as a traceback per retry.

PTB retries a failing getUpdates with back-off and, by default, logs each failure with its
traceback (dozens of lines a minute). Here the updater's error callback and each completed
getUpdates round feed one `Outage`: one line when updates stop coming, one every `remind_s` while
they stay away, one when they are back. Whoever needs the API back (publishing the command menus)
waits on `recovered`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

LOG = logging.getLogger("bot.outage")
REMIND_S = 300.0  # "still failing" once every 5 minutes


def describe(exc: BaseException) -> str:
    """The error's type and Telegram's (or httpx's) one-line reason; never a URL with the token
    (the log formatter redacts it anyway)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__


class Outage:
    """Whether getUpdates is failing, and since when (monotonic seconds)."""

    def __init__(self, remind_s: float = REMIND_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.remind_s = remind_s
        self._clock = clock
        self.since: float | None = None
        self._noted = 0.0
        self.recovered = asyncio.Event()  # set at each recovery; the waiter clears it

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        """PTB's error_callback for getUpdates (a plain function, as PTB requires)."""
        now = self._clock()
        if self.since is None:
            self.since = self._noted = now
            LOG.warning("cannot get updates from the Telegram Bot API (%s): retrying quietly, a note every "
                        "%.0f min until it works again", describe(exc), self.remind_s / 60)
        elif now - self._noted >= self.remind_s:
            self._noted = now
            LOG.warning("still no updates from the Telegram Bot API after %.0f min (%s)",
                        (now - self.since) / 60, describe(exc))

    def reached(self) -> None:
        """A getUpdates round completed."""
        if self.since is None:
            return
        LOG.info("getting updates from the Telegram Bot API again after %.0f s", self._clock() - self.since)
        self.since = None
        self.recovered.set()
