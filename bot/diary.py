"""The mood diary picture: a user's moods over the last days and the share of each, as PNG bytes.

Drawn with matplotlib's Agg backend into memory (never a file); blocking, so the bot calls it in
its worker pool. Plain-text labels: the default fonts have no colour emoji.
"""
from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from recommender.types import MOODS

DAYS = 30
COLOURS = {"calm": "#4C9BE8", "happy": "#F2B705", "energetic": "#E8553D", "sad": "#7A6FB0"}


@dataclass(frozen=True)
class MoodEvent:
    at: float  # seconds since the epoch
    mood: str
    chosen: bool  # picked by the user (a correction or /mood) rather than read from a selfie


def recent(events: Sequence[MoodEvent], now: float | None = None, days: int = DAYS) -> list[MoodEvent]:
    since = (time.time() if now is None else now) - days * 86400
    return [e for e in events if e.at >= since and e.mood in MOODS]


@dataclass(frozen=True)
class Labels:
    """The chart's words in the reader's language (bot/texts.py diary_labels)."""

    title: str
    days_ago: str
    share: str
    selfie: str
    chosen: str
    percent: str  # a format with {n}: "{n}%", "%{n}", "{n} %"
    moods: tuple[str, ...]  # the names of MOODS, in order


def shares(events: Sequence[MoodEvent]) -> list[tuple[str, int]]:
    """(mood, percent of the moods) largest first: the caption under the chart."""
    counts = Counter(e.mood for e in events)
    total = sum(counts.values())
    return [(m, round(100 * n / total)) for m, n in counts.most_common()]


def render(events: Sequence[MoodEvent], labels: Labels, now: float | None = None, days: int = DAYS) -> bytes:
    """PNG of the moods over time (dots, hollow when chosen) and the share of each mood (bars)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # the object API: no global pyplot state across threads
    from matplotlib.lines import Line2D

    now = time.time() if now is None else now
    fig = Figure(figsize=(8, 3.6), dpi=100)
    timeline, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    rows = {m: i for i, m in enumerate(MOODS)}
    for chosen in (False, True):
        picked = [e for e in events if e.chosen == chosen]
        timeline.scatter([(e.at - now) / 86400 for e in picked], [rows[e.mood] for e in picked],
                         s=60, facecolors="none" if chosen else [COLOURS[e.mood] for e in picked],
                         edgecolors=[COLOURS[e.mood] for e in picked], linewidths=1.5)
    timeline.set_yticks(range(len(MOODS)), labels.moods)
    timeline.set_xlim(-days - 0.5, 0.5)
    timeline.set_xlabel(labels.days_ago)
    timeline.set_xticks(range(-days, 1, 5), [str(-d) for d in range(-days, 1, 5)])
    timeline.grid(axis="x", alpha=0.3)
    key = [Line2D([], [], ls="", marker="o", ms=7, mfc=fill, mec="grey", label=label)
           for fill, label in (("grey", labels.selfie), ("none", labels.chosen))]
    timeline.legend(handles=key, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8, frameon=False)
    timeline.set_title(labels.title)
    counts = Counter(e.mood for e in events)
    total = max(1, sum(counts.values()))
    values = [100 * counts[m] / total for m in MOODS]
    bars.barh(range(len(MOODS)), values, color=[COLOURS[m] for m in MOODS])
    bars.set_yticks(range(len(MOODS)), labels.moods)
    bars.set_xlim(0, 100)
    bars.set_xlabel(labels.share)
    for i, v in enumerate(values):
        bars.text(min(v + 2, 80), i, labels.percent.format(n=round(v)), va="center", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
