"""The mood diary picture: every check-in of the last days as a dot, a one-line insight and the
share of each mood, as PNG bytes sized for a phone.

Drawn with matplotlib's Agg backend into memory (never a file); blocking, so the bot calls it in
its worker pool. Plain-text labels: the default fonts have no colour emoji. Everything is laid
out in pixels of the final PNG (one axes spanning the figure), so each text's size on a 1080 px
wide screen is known and nothing depends on tight_layout.
"""
from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recommender.types import MOODS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DAYS = 30
COLOURS = {"calm": "#4C9BE8", "happy": "#F2B705", "energetic": "#E8553D", "sad": "#7A6FB0"}
BRIGHTNESS = {"sad": 0.0, "calm": 1.0, "happy": 2.0, "energetic": 2.0}  # for "brighter than last week"
TREND_STEP = 0.25  # a change in mean brightness (0..2) smaller than this reads as "much like last week"

WIDTH = 1080  # px: a phone screen's width, so the PNG is shown 1:1 or scaled down, never up
DPI = 100
MARGIN = 54
MIN_TEXT_PX = 28  # the smallest text still readable when a phone shows the picture full-width
TITLE_PX, INSIGHT_PX, BODY_PX = 46, 34, 30
MIN_ROWS, MAX_ROWS = 5, 14  # height of the dot stacks in dots: room for a few, cap for many
INK, MUTED, BAND = "#222222", "#5F6368", "#F1F3F4"


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
    selfie: str
    chosen: str
    percent: str  # a format with {n}: "{n}%", "%{n}", "{n} %"
    moods: tuple[str, ...]  # the names of MOODS, in order
    months: tuple[str, ...]  # Jan … Dec, abbreviated
    date: str  # a format with {day} and {month}: "5 Dec", "5. Dez"
    insights: Mapping[str, str]  # Insight.key → a sentence, with {mood} where the key has "mostly"


@dataclass(frozen=True)
class Insight:
    """Something true about the last week: its main mood and how it compares with the week before."""

    mood: str | None  # the mood of more than half the check-ins; None: a mix
    week: bool  # False: nothing this week, so `mood` describes the days before it
    trend: str | None  # "brighter", "heavier", "steady"; None: a week with nothing to compare

    @property
    def key(self) -> str:
        parts = ["week" if self.week else "before", "mostly" if self.mood else "mix"]
        return "-".join(parts + ([self.trend] if self.trend else []))


def shares(events: Sequence[MoodEvent]) -> list[tuple[str, int]]:
    """(mood, percent of the check-ins) largest first: the caption under the chart."""
    counts = Counter(e.mood for e in events)
    total = sum(counts.values())
    return [(m, round(100 * n / total)) for m, n in counts.most_common()]


def _main_mood(events: Sequence[MoodEvent]) -> str | None:
    top = Counter(e.mood for e in events).most_common(1)
    return top[0][0] if top and 2 * top[0][1] > len(events) else None


def _brightness(events: Sequence[MoodEvent]) -> float:
    return sum(BRIGHTNESS[e.mood] for e in events) / len(events)


def days_ago(event: MoodEvent, now: float) -> int:
    """Calendar days (UTC, as /history shows times) between the check-in and now: 0 is today."""
    return int(now // 86400) - int(event.at // 86400)


def insight(events: Sequence[MoodEvent], now: float) -> Insight | None:
    """This week (today and the 6 days before) against the 7 days before it; None without any check-in."""
    if not events:
        return None
    week = [e for e in events if days_ago(e, now) < 7]
    if not week:
        return Insight(_main_mood(events), week=False, trend=None)
    before = [e for e in events if 7 <= days_ago(e, now) < 14]
    trend = None
    if before:
        change = _brightness(week) - _brightness(before)
        trend = "brighter" if change >= TREND_STEP else "heavier" if change <= -TREND_STEP else "steady"
    return Insight(_main_mood(week), week=True, trend=trend)


def _pt(px: float) -> float:
    return px * 72 / DPI


class _Layout:
    """Measures and wraps text in pixels before anything is placed (a phone-width canvas)."""

    def __init__(self, renderer) -> None:
        from matplotlib.font_manager import FontProperties

        self._renderer = renderer
        self._font = FontProperties
        self._cache: dict[tuple[str, float, str], float] = {}

    def width(self, text: str, px: float, weight: str = "normal") -> float:
        key = (text, px, weight)
        if key not in self._cache:
            prop = self._font(size=_pt(px), weight=weight)
            self._cache[key] = self._renderer.get_text_width_height_descent(text, prop, ismath=False)[0]
        return self._cache[key]

    def fit(self, text: str, px: float, room: float, weight: str = "normal") -> tuple[str, float]:
        """The text on one line, shrunk a little if need be, else wrapped at word breaks."""
        smallest = max(MIN_TEXT_PX, round(px * 0.85))  # smaller still reads worse than two lines
        size = px
        while size > smallest and self.width(text, size, weight) > room:
            size -= 2
        if self.width(text, size, weight) <= room:
            return text, size
        lines: list[str] = []
        for word in text.split():
            if lines and self.width(f"{lines[-1]} {word}", px, weight) <= room:
                lines[-1] += f" {word}"
            else:
                lines.append(word)
        return "\n".join(lines), px


def _lines(text: str) -> int:
    return text.count("\n") + 1


def draw(events: Sequence[MoodEvent], labels: Labels, now: float | None = None, days: int = DAYS) -> Figure:
    """The chart as a matplotlib Figure with an Agg canvas (render() turns it into PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # the object API: no global pyplot state across threads
    from matplotlib.patches import Rectangle

    now = time.time() if now is None else now
    fig = Figure(figsize=(WIDTH / DPI, 10), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    lay = _Layout(canvas.get_renderer())
    room = WIDTH - 2 * MARGIN

    # Words first: their wrapped heights decide the picture's height.
    title, title_px = lay.fit(labels.title, TITLE_PX, room, "bold")
    found = insight(events, now)
    line = ""
    if found is not None:
        mood = labels.moods[MOODS.index(found.mood)] if found.mood else ""
        line = labels.insights[found.key].format(mood=mood)
    line, line_px = lay.fit(line, INSIGHT_PX, room)
    counts = Counter(e.mood for e in events)
    total = max(1, len(events))
    column = room / 2
    keys = [lay.fit(f"{name}  {labels.percent.format(n=round(100 * counts[m] / total))}", BODY_PX, column - 44)
            for m, name in zip(MOODS, labels.moods)]
    notes = [lay.fit(note, BODY_PX, column - 44) for note in (labels.selfie, labels.chosen)]

    # Each check-in a dot, stacked per day from the bottom in the order they came.
    day_of = [min(days - 1, max(0, days - 1 - days_ago(e, now))) for e in events]  # columns, today last
    per_day = Counter(day_of)
    rows = min(MAX_ROWS, max(MIN_ROWS, max(per_day.values(), default=0)))
    step_x = room / days
    step_y = min(step_x, step_x * rows / max(1, max(per_day.values(), default=0)))
    dot = 0.8 * min(step_x, step_y)

    y = 44.0
    title_y = y
    y += _lines(title) * title_px * 1.2 + 14
    line_y = y
    y += (_lines(line) * line_px * 1.2 + 26) if line else 0
    bar_y = y
    y += 30 + 26
    key_y = y
    key_rows = [max(_lines(a[0]) * a[1], _lines(b[0]) * b[1]) * 1.2 + 12 for a, b in (keys[:2], keys[2:])]
    y += sum(key_rows) + 20
    panel_top = y
    baseline = panel_top + (rows + 0.4) * step_x
    date_y = baseline + 16
    note_y = date_y + BODY_PX * 1.2 + 22
    height = int(note_y + max(_lines(t) * px for t, px in notes) * 1.2 + 36)

    fig.set_size_inches(WIDTH / DPI, height / DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(height, 0)  # pixels from the top-left corner, like the PNG
    ax.set_axis_off()

    def text(x: float, y: float, s: str, px: float, **kw) -> None:
        # No linespacing=: matplotlib then lifts a line with descenders ("happy") off the baseline.
        ax.text(x, y, s, fontsize=_pt(px), va="top", color=kw.pop("color", INK), **kw)

    def marker(x: float, y: float, colour: str, hollow: bool, size: float) -> None:
        ax.scatter([x], [y], s=_pt(size) ** 2, facecolors="white" if hollow else colour,
                   edgecolors=colour, linewidths=_pt(size * 0.14) if hollow else 0)

    text(MARGIN, title_y, title, title_px, weight="bold")
    if line:
        text(MARGIN, line_y, line, line_px, color=MUTED, gid="insight")

    # The mix: one bar split by each mood's share, then the key with the percentages.
    left = MARGIN
    for m in MOODS:
        if counts[m]:
            width = room * counts[m] / total
            ax.add_patch(Rectangle((left, bar_y), width, 30, color=COLOURS[m], lw=0))
            left += width
    if not events:
        ax.add_patch(Rectangle((MARGIN, bar_y), room, 30, color=BAND, lw=0))
    for i, (m, (s, px)) in enumerate(zip(MOODS, keys)):
        x, y0 = MARGIN + (i % 2) * column, key_y + sum(key_rows[:i // 2])
        marker(x + 14, y0 + px * 0.5, COLOURS[m], False, 28)
        text(x + 44, y0, s, px)
    for i, (s, px) in enumerate(notes):
        x = MARGIN + i * column
        marker(x + 14, note_y + px * 0.5, MUTED, i == 1, 24)
        text(x + 44, note_y, s, px, color=MUTED)

    # Weeks counted back from today as alternating bands; dates under every 7th day.
    for start in range(days - 7, -7, -14):
        lo = max(0, start)
        ax.add_patch(Rectangle((MARGIN + lo * step_x, panel_top), (start + 7 - lo) * step_x,
                               baseline - panel_top, color=BAND, lw=0, zorder=0))
    ax.plot([MARGIN, WIDTH - MARGIN], [baseline, baseline], color=MUTED, lw=1.5)
    for d in range(days - 1, -1, -7):
        t = time.gmtime(now - (days - 1 - d) * 86400)
        s = labels.date.format(day=t.tm_mday, month=labels.months[t.tm_mon - 1])
        half = lay.width(s, BODY_PX) / 2 + 2
        x = MARGIN + (d + 0.5) * step_x
        ax.plot([x, x], [baseline, baseline + 10], color=MUTED, lw=1.5)
        text(min(max(x, half + 20), WIDTH - half - 20), date_y, s, BODY_PX, ha="center", color=MUTED)
    empty = [MARGIN + (d + 0.5) * step_x for d in range(days) if not per_day[d]]
    ax.scatter(empty, [baseline - step_y / 2] * len(empty), s=_pt(6) ** 2, color="#C4C7C5", lw=0)

    height_of: Counter[int] = Counter()
    xs, ys, fills, edges = [], [], [], []
    for d, e in sorted(zip(day_of, events), key=lambda pair: pair[1].at):
        xs.append(MARGIN + (d + 0.5) * step_x)
        ys.append(baseline - (height_of[d] + 0.5) * step_y)
        height_of[d] += 1
        fills.append("white" if e.chosen else COLOURS[e.mood])
        edges.append(COLOURS[e.mood])
    ax.scatter(xs, ys, s=_pt(dot) ** 2, facecolors=fills, edgecolors=edges,
               linewidths=[_pt(dot * 0.16) if f == "white" else 0 for f in fills], zorder=3, gid="check-ins")
    return fig


def render(events: Sequence[MoodEvent], labels: Labels, now: float | None = None, days: int = DAYS) -> bytes:
    """PNG of the diary (draw()), at least 1080 px wide."""
    buf = io.BytesIO()
    draw(events, labels, now, days).savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
