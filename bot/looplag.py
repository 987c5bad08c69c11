"""How late the event loop runs: a blocked loop delays every user's update, not only one.

A task asks to wake every `tick_s`; how much later than asked it wakes is the loop's lag (the
longest callback that ran meanwhile). Each window of `window_s` with a lag of at least
`report_ms` is logged as one line (an idle or healthy bot logs nothing; the bot's default is 100 ms,
`LOOP_LAG_LOG_MS`, so a loaded host's ordinary 10–20 ms wake-ups do not fill the log):
`loop_lag ticks=… max_ms=… p95_ms=… over_20ms=…`; `python -m bench.bot_load` reads these lines.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

LOG = logging.getLogger("bot.looplag")


@dataclass
class LagWindow:
    """The lags (ms) of one window's ticks."""

    lags: list[float] = field(default_factory=list)

    def line(self) -> str:
        ordered = sorted(self.lags)
        p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
        over = sum(lag >= 20 for lag in ordered)
        return f"loop_lag ticks={len(ordered)} max_ms={ordered[-1]:.1f} p95_ms={p95:.1f} over_20ms={over}"


async def watch_loop_lag(tick_s: float = 0.01, window_s: float = 1.0, report_ms: float = 10.0) -> None:
    """Run until cancelled, logging each window whose worst lag reached `report_ms`."""
    window = LagWindow()
    window_end = time.monotonic() + window_s
    while True:
        asked = time.monotonic()
        await asyncio.sleep(tick_s)  # the measurement itself: how late this wake-up comes
        now = time.monotonic()
        window.lags.append(max(0.0, (now - asked - tick_s) * 1000))
        if now >= window_end:
            if max(window.lags) >= report_ms:
                LOG.info("%s", window.line())
            window = LagWindow()
            window_end = now + window_s
