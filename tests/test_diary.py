"""The mood diary picture, drawn in memory for a phone: every check-in a mark, dates on the axis,
a one-line insight that is true of the data, every word readable and inside the picture in every
language, and a caption that counts check-ins with the language's plural forms."""
from __future__ import annotations

import io
import itertools
import re
from gettext import NullTranslations

import pytest
from matplotlib.collections import PathCollection
from matplotlib.text import Text
from PIL import Image

from bot.diary import DPI, MIN_TEXT_PX, WIDTH, MoodEvent, draw, recent, render, shares
from bot.i18n import Languages
from bot.texts import diary_labels, diary_summary
from recommender.types import MOODS

NOW = 1_800_000_000.0  # Fri 15 Jan 2027, 08:00 UTC: the last 30 days cross a month and a year
DAY = 86400.0
EN = NullTranslations()
LANGUAGES = Languages.load()
CODES = [lang.code for lang in LANGUAGES]
EDGE = 16  # px kept clear at the picture's edges (rounded screen corners, chat bubble crops)


def at(days_ago: float, mood: str, chosen: bool = False) -> MoodEvent:
    return MoodEvent(NOW - days_ago * DAY, mood, chosen)


def events() -> list[MoodEvent]:
    return [at(d, mood, chosen) for d, mood, chosen in [
        (1, "happy", False), (2, "happy", False), (3, "sad", True), (10, "calm", False),
        (29, "energetic", True), (45, "sad", False)]]


def busy_month() -> list[MoodEvent]:
    """Most days with a few check-ins, one day with 30 of them, a few empty days."""
    moods = itertools.cycle(["calm", "happy", "sad", "calm", "energetic", "happy", "sad"])
    days = [d for d in range(30) if d % 6 != 4]
    marks = [at(d + 0.02 * k, next(moods), k % 3 == 1) for d in days for k in range(1 + d % 4)]
    return marks + [at(12 + 0.01 * k, next(moods), k % 2 == 0) for k in range(30)]


# Data for each insight, and what it says in English.
INSIGHTS = {
    "Mostly calm this week": [at(1, "calm"), at(2, "calm"), at(4, "sad")],
    "Mostly happy this week, brighter than last week": [at(1, "happy"), at(2, "happy"), at(5, "calm"),
                                                        at(9, "sad"), at(10, "calm")],
    "Mostly sad this week, heavier than last week": [at(0.5, "sad"), at(1, "sad"), at(8, "happy")],
    "Mostly calm this week, much like last week": [at(1, "calm"), at(3, "calm"), at(6, "happy"),
                                                   at(8, "calm"), at(11, "happy")],
    "A mix of moods this week": [at(1, "calm"), at(2, "sad"), at(20, "happy")],
    "A mix of moods this week, brighter than last week": [at(1, "calm"), at(2, "happy"), at(8, "sad")],
    "A mix of moods this week, heavier than last week": [at(1, "calm"), at(2, "sad"), at(8, "energetic")],
    "A mix of moods this week, much like last week": [at(1, "calm"), at(2, "happy"), at(6, "sad"),
                                                      at(9, "happy"), at(10, "sad"), at(12, "calm")],
    "No check-ins this week; mostly energetic before that": [at(9, "energetic"), at(20, "energetic")],
    "No check-ins this week; a mix of moods before that": [at(9, "energetic"), at(20, "sad")],
}
CHARTS = {"busy month": busy_month(), "one check-in": [at(0, "sad", True)], "nothing": [],
          **{f"insight {i}": marks for i, marks in enumerate(INSIGHTS.values())}}


def drawn_texts(fig) -> list[tuple[Text, object]]:
    """Every visible, non-empty text of the figure and its extent in the PNG's pixels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t, t.get_window_extent(renderer)) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip()]


def words(fig) -> list[str]:
    return [t.get_text() for t, _ in drawn_texts(fig)]


def marks(fig) -> PathCollection:
    (dots,) = [c for c in fig.findobj(PathCollection) if c.get_gid() == "check-ins"]
    return dots


def test_recent_keeps_the_last_30_days():
    assert [e.mood for e in recent(events(), NOW)] == ["happy", "happy", "sad", "calm", "energetic"]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("chart", CHARTS)
def test_every_word_fits_on_a_phone_in_every_language(code, chart):
    """At least 1080 px wide; every text inside the picture, at least 28 px tall, none on another."""
    fig = draw(CHARTS[chart], diary_labels(LANGUAGES.get(code).tr, 30), NOW)
    width, height = fig.bbox.width, fig.bbox.height
    assert width >= 1080 and width == WIDTH and 600 <= height <= 1600
    texts = drawn_texts(fig)
    assert len(texts) >= 9  # the title, 4 moods, selfie and chosen, dates
    for text, box in texts:
        where = f"{code}: {text.get_text()!r} at {box}"
        assert box.x0 >= EDGE and box.y0 >= EDGE and box.x1 <= width - EDGE and box.y1 <= height - EDGE, where
        assert box.height >= MIN_TEXT_PX and text.get_fontsize() * DPI / 72 >= MIN_TEXT_PX - 1e-6, where
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        assert not box_a.overlaps(box_b), f"{code}: {a.get_text()!r} overlaps {b.get_text()!r}"


def insight(fig) -> str | None:
    drawn = [t.get_text() for t, _ in drawn_texts(fig) if t.get_gid() == "insight"]
    return drawn[0].replace("\n", " ") if drawn else None


@pytest.mark.parametrize(("said", "data"), INSIGHTS.items())
def test_the_insight_says_what_the_week_was_like(said, data):
    assert insight(draw(data, diary_labels(EN, 30), NOW)) == said


@pytest.mark.parametrize("code", [c for c in CODES if c != "en"])
def test_the_insight_is_in_the_readers_language(code):
    labels = diary_labels(LANGUAGES.get(code).tr, 30)
    said = insight(draw(INSIGHTS["Mostly happy this week, brighter than last week"], labels, NOW))
    assert said == labels.insights["week-mostly-brighter"].format(mood=labels.moods[MOODS.index("happy")])
    assert said != "Mostly happy this week, brighter than last week"


def test_nothing_to_say_draws_no_insight():
    assert insight(draw([], diary_labels(EN, 30), NOW)) is None


def test_each_check_in_is_its_own_mark_also_on_the_same_day():
    same_day = [at(1.1, "happy"), at(1.2, "sad", True), at(1.3, "happy"), at(5, "calm")]
    dots = marks(draw(same_day, diary_labels(EN, 30), NOW))
    points = [tuple(p) for p in dots.get_offsets()]
    assert len(points) == len(set(points)) == 4
    xs = sorted(x for x, _ in points)
    assert xs[1] == xs[2] == xs[3] and xs[0] < xs[1]  # three stacked in one day's column
    fills = [tuple(round(c, 3) for c in rgba) for rgba in dots.get_facecolors()]
    assert fills.count((1.0, 1.0, 1.0, 1.0)) == 1  # the chosen one is hollow


def test_a_day_is_a_date_under_the_axis_not_24_hours_back_from_now():
    hour = 1 / 24  # NOW is 08:00 UTC
    late, early, later = at(8.5 * hour, "calm"), at(7.5 * hour, "sad"), at(0.1 * hour, "happy")
    xs = [x for x, _ in marks(draw([late, early, later], diary_labels(EN, 30), NOW)).get_offsets()]
    assert xs[0] < xs[1] == xs[2]  # 23:30 yesterday | 00:30 and 07:54 today


def test_a_day_with_many_check_ins_keeps_every_mark_inside_the_picture():
    fig = draw(busy_month(), diary_labels(EN, 30), NOW)
    fig.canvas.draw()
    box = marks(fig).get_window_extent(fig.canvas.get_renderer())
    assert len(marks(fig).get_offsets()) == len(busy_month())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width and 0 <= box.y0 and box.y1 <= fig.bbox.height


@pytest.mark.parametrize(("code", "dates"), [
    ("en", ["18 Dec", "25 Dec", "1 Jan", "8 Jan", "15 Jan"]),
    ("de", ["18. Dez", "25. Dez", "1. Jan", "8. Jan", "15. Jan"]),
    ("ru", ["18 дек.", "25 дек.", "1 янв.", "8 янв.", "15 янв."]),
])
def test_dates_on_the_axis_in_the_readers_language(code, dates):
    drawn = words(draw(events(), diary_labels(LANGUAGES.get(code).tr, 30), NOW))
    assert [w for w in drawn if w in dates] == dates[::-1]  # drawn from today back, a week apart


def test_the_key_gives_each_moods_share():
    drawn = words(draw(recent(events(), NOW), diary_labels(EN, 30), NOW))
    assert {"calm  20%", "happy  40%", "energetic  20%", "sad  20%"} <= set(drawn)


def test_picture_is_a_small_png_for_a_phone():
    png = render(busy_month(), diary_labels(EN, 30), NOW)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 200_000
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        assert im.size[0] == 1080 and 600 <= im.size[1] <= 1600


def test_summary_counts_check_ins_and_reads_the_shares_largest_first():
    kept = recent(events(), NOW)
    assert diary_summary(EN, shares(kept), len(kept), 30) == \
        "Your last 30 days: 5 check-ins — happy 40%, sad 20%, calm 20%, energetic 20%."
    assert diary_summary(EN, shares(kept[:1]), 1, 30) == "Your last 30 days: 1 check-in — happy 100%."
    assert diary_summary(EN, [], 0, 30) == "Your last 30 days: 0 check-ins."


CHECK_INS = {  # n → the count as each language says it (pt_BR says "0 registro": 0 is singular there)
    "en": ["0 check-ins", "1 check-in", "2 check-ins", "5 check-ins", "21 check-ins"],
    "de": ["0 Einträge", "1 Eintrag", "2 Einträge", "5 Einträge", "21 Einträge"],
    "es": ["0 registros", "1 registro", "2 registros", "5 registros", "21 registros"],
    "pt_BR": ["0 registro", "1 registro", "2 registros", "5 registros", "21 registros"],
    "ru": ["0 отметок", "1 отметка", "2 отметки", "5 отметок", "21 отметка"],
    "id": ["0 catatan", "1 catatan", "2 catatan", "5 catatan", "21 catatan"],
    "tr": ["0 kayıt", "1 kayıt", "2 kayıt", "5 kayıt", "21 kayıt"],
}


def test_every_language_is_in_the_plural_table():
    assert set(CHECK_INS) == set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_the_caption_counts_check_ins_with_the_languages_plural_forms(code):
    tr = LANGUAGES.get(code).tr
    for n, said in zip((0, 1, 2, 5, 21), CHECK_INS[code]):
        caption = diary_summary(tr, [("happy", 60), ("sad", 40)] if n else [], n, 30)
        assert re.search(rf"(?<!\d){re.escape(said)}(?!\w)", caption), (code, n, caption)
