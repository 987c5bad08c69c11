"""Every language the bot speaks is complete and safe to send: no English text without a
translation (the CI check for new texts), no fuzzy entry, the placeholders, HTML tags and
commands of the English kept, plural forms right, and every text of bot/texts.py rendering as
valid Telegram HTML within the Bot API's limits in every language."""
from __future__ import annotations

import gettext
import inspect
import re
import warnings
from html.parser import HTMLParser

import polib
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural

from bot import diary, i18n, keyboards, texts
from recommender.music.service import Pick
from recommender.music.spotify import Enrichment
from recommender.text_mood import FEELINGS, GREETINGS
from recommender.types import EMOTIONS, MOODS, Song
from recommender.vision import imageio

LANGUAGES = i18n.Languages.load()
CODES = [lang.code for lang in LANGUAGES if lang.code != i18n.SOURCE]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?[a-z]+")
COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")


def catalog(code: str) -> polib.POFile:
    return polib.pofile(str(i18n.po_path(code)))


def extracted() -> set[tuple[str | None, str]]:
    """(context, English text) of every message in the code now, as `make translations` sees it."""
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            i18n.LOCALES.parent, method_map=[("**.py", "python")], comment_tags=("TRANSLATORS:",)):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add((context, msgid))
    return found


def test_the_bot_speaks_english_and_at_least_five_other_languages():
    assert LANGUAGES.english.code == "en" and len(CODES) >= 5
    names = [lang.name for lang in LANGUAGES]
    assert len(set(names)) == len(names) and "English" in names[:1]


def test_the_template_lists_every_english_text_in_the_code():
    """bot/locales/messages.pot is regenerated (make translations) whenever a text changes."""
    template = {(e.msgctxt, e.msgid) for e in polib.pofile(str(i18n.LOCALES / "messages.pot"))}
    assert template == extracted(), "run: make translations"


@pytest.mark.parametrize("code", CODES)
def test_every_english_text_has_a_translation(code):
    """The CI check: a new or changed English text fails here until each language translates it."""
    po = catalog(code)
    done = {(e.msgctxt, e.msgid) for e in po.translated_entries()}
    missing = sorted(msgid for ctx, msgid in extracted() - done)
    assert not missing, f"{code}: {len(missing)} English texts without a translation, e.g. {missing[:3]}"
    assert not po.fuzzy_entries(), f"{code}: fuzzy entries (review them, then drop the fuzzy flag)"
    assert not po.untranslated_entries() and not po.obsolete_entries()


@pytest.mark.parametrize("code", CODES)
def test_plural_forms_are_the_languages_own(code):
    nplurals, rule = get_plural(code)
    header = catalog(code).metadata["Plural-Forms"]
    assert header.replace(" ", "") == f"nplurals={nplurals};plural={rule};".replace(" ", "")
    for entry in catalog(code).translated_entries():
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(nplurals)), entry.msgid


def _only_for_one(tr: gettext.GNUTranslations, index: int) -> bool:
    """True for a plural form used for n == 1 alone, which may say "one" instead of {n}."""
    return [n for n in range(0, 1200) if tr.plural(n) == index] == [1]


@pytest.mark.parametrize("code", CODES)
def test_translations_keep_placeholders_tags_and_commands(code):
    tr = i18n.load_translations(i18n.po_path(code))
    for entry in catalog(code).translated_entries():
        source = entry.msgid_plural or entry.msgid
        forms = entry.msgstr_plural.items() if entry.msgid_plural else [(0, entry.msgstr)]
        for index, text in forms:
            wanted = set(PLACEHOLDER.findall(source))
            if entry.msgid_plural and _only_for_one(tr, index):  # may say "one" instead of {n}
                wanted = (wanted & set(PLACEHOLDER.findall(entry.msgid))) - {"n"}
            assert wanted <= set(PLACEHOLDER.findall(text)), f"{code}: {text!r} lost a placeholder of {source!r}"
            assert set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDER.findall(source)), (code, text)
            assert sorted(TAG.findall(text)) == sorted(TAG.findall(source)), f"{code}: tags differ in {text!r}"
            assert set(COMMAND.findall(text)) == set(COMMAND.findall(source)), f"{code}: commands differ in {text!r}"


# --- every text, rendered -----------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}


class TelegramHTML(HTMLParser):
    """Checks what Telegram's HTML parse mode checks: known tags only, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in ALLOWED_TAGS, f"tag <{tag}>"
        if tag == "a":
            assert dict(attrs).get("href"), "a link without href"
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing"

    def handle_entityref(self, name):
        assert name in {"lt", "gt", "amp", "quot"}, f"&{name};"

    def check(self, text: str) -> None:
        assert "<" not in re.sub(r"</?[a-z-]+(\s[^<>]*)?>", "", text), f"a stray < in {text!r}"
        self.feed(text)
        self.close()
        assert not self.open, f"unclosed {self.open}"


SONG = Song("4uLU6hMCjMI75M1A2tKUQC", "Never <Gonna> & Give", "Rick & Co", "happy")
PICKS = [Pick(SONG, "happy", restarted=True, lift_step=None,
              details=Enrichment("Album & B", None, "https://p.example/a?b=1&c=2")),
         Pick(SONG, "calm", restarted=False, lift_step=3, details=None)]
# Text functions and how to call them; each one of bot/texts.py must be here.
RENDER = {
    "start": lambda tr: [texts.start(tr)],
    "hint": lambda tr: [texts.hint(tr)],
    "group_hint": lambda tr: [texts.group_hint(tr)],
    "help_text": lambda tr: [texts.help_text(tr, "mood_<bot>"), texts.help_text(tr)],
    "help_section": lambda tr: [texts.help_section(tr, s, b) for s in keyboards.HELP_SECTIONS
                                for b in ("mood_<bot>", None)],
    "help_button": lambda tr: [texts.help_button(tr, s) for s in keyboards.HELP_SECTIONS + ("top",)],
    "show_button": lambda tr: [texts.show_button(tr, s) for s in keyboards.SHOW_SECTIONS],
    "private_only": lambda tr: [texts.private_only(tr)],
    "mood_prompt": lambda tr: [texts.mood_prompt(tr)],
    "reading_unknown": lambda tr: [texts.reading_unknown(tr)],
    "history_empty": lambda tr: [texts.history_empty(tr)],
    "diary_empty": lambda tr: [texts.diary_empty(tr)],
    "diary_failed": lambda tr: [texts.diary_failed(tr)],
    "history_text": lambda tr: [texts.history_text(tr, [(SONG, "sad", 1.7e9), (None, "energetic", 1.6e9)])],
    "forgot": lambda tr: [texts.forgot(tr, n) for n in (1, 2, 5, 21, 1000000)],
    "forgot_nothing": lambda tr: [texts.forgot_nothing(tr)],
    "forgot_settings": lambda tr: [texts.forgot_settings(tr)],
    "lift_on": lambda tr: [texts.lift_on(tr)],
    "lift_off": lambda tr: [texts.lift_off(tr)],
    "settings_mature": lambda tr: [texts.settings_mature(tr, True), texts.settings_mature(tr, False)],
    "mature_button": lambda tr: [texts.mature_button(tr, True), texts.mature_button(tr, False)],
    "language_prompt": lambda tr: [texts.language_prompt(tr, "Português (Brasil)")],
    "language_auto": lambda tr: [texts.language_auto(tr)],
    "language_set": lambda tr: [texts.language_set(tr)],
    "song_lines": lambda tr: [texts.song_lines(tr, SONG, p.details) for p in PICKS],
    "faces_seen": lambda tr: [texts.faces_seen(tr, n) for n in (2, 3, 5, 11, 22)],
    "analysis_reply": lambda tr: [texts.analysis_reply(tr, emotion=e, confidence=0.834, mood=m, n_faces=n, pick=p,
                                                       adapted=a)
                                  for e, m, n, p, a in zip(EMOTIONS, MOODS * 2, (1, 2, 3, 1, 5, 1, 1),
                                                           PICKS * 3 + [None], (False, True) * 4)],
    "looks": lambda tr: [texts.looks(tr, e) for e in EMOTIONS],
    "music_for": lambda tr: [texts.music_for(tr, e, m, a) for e in EMOTIONS for m in MOODS for a in (False, True)],
    "unsure_reply": lambda tr: [texts.unsure_reply(tr, moods=("sad", "happy"), n_faces=n) for n in (1, 2)],
    "other_button": lambda tr: [texts.other_button(tr)],
    "open_in_spotify_button": lambda tr: [texts.open_in_spotify_button(tr)],
    "not_yours": lambda tr: [texts.not_yours(tr)],
    "already_sent": lambda tr: [texts.already_sent(tr)],
    "already_chosen": lambda tr: [texts.already_chosen(tr, m) for m in MOODS],
    "you_chose": lambda tr: [texts.you_chose(tr, m) for m in MOODS],
    "button_gone": lambda tr: [texts.button_gone(tr)],
    "chosen_reply": lambda tr: [texts.chosen_reply(tr, p, corrected=c) for p in PICKS for c in (True, False)],
    "asked_reply": lambda tr: [texts.asked_reply(tr, p, from_text=f) for p in PICKS for f in (True, False)],
    "more_reply": lambda tr: [texts.more_reply(tr, p) for p in PICKS],
    "exhausted": lambda tr: [texts.exhausted(tr, m) for m in MOODS],
    "no_face": lambda tr: [texts.no_face(tr)],
    "not_image": lambda tr: [texts.not_image(tr)],
    "image_error": lambda tr: [texts.image_error(tr, cls("x")) for cls in (
        imageio.ImageError, imageio.NotAnImage, imageio.UnsupportedFormat, imageio.CorruptImage,
        imageio.ImageTooLarge, imageio.ImageTooSmall)],
    "too_large": lambda tr: [texts.too_large(tr, 25 * 2**20, 10 * 2**20), texts.too_large(tr, None, 10 * 2**20),
                             texts.too_large(tr, 900 * 1024, 512 * 1024)],
    "download_slow": lambda tr: [texts.download_slow(tr)],
    "download_failed": lambda tr: [texts.download_failed(tr)],
    "unsupported_media": lambda tr: [texts.unsupported_media(tr, k) for k in texts.UNSUPPORTED_KINDS + ("other",)],
    "flooded": lambda tr: [texts.flooded(tr, k, n) for k in ("photo", "text", "press") for n in (1, 2, 5, 10)],
    "busy_error": lambda tr: [texts.busy_error(tr)],
    "more_unknown": lambda tr: [texts.more_unknown(tr)],
    "more_button": lambda tr: [texts.more_button(tr)],
    "not_my_mood_button": lambda tr: [texts.not_my_mood_button(tr)],
    "diary_summary": lambda tr: [texts.diary_summary(tr, [("happy", 60), ("sad", 40)], n, 30) for n in (1, 2, 5, 21)],
    "emotion_name": lambda tr: [texts.emotion_name(tr, e) for e in EMOTIONS],
    "mood_name": lambda tr: [texts.mood_name(tr, m) for m in MOODS],
    "mood_label": lambda tr: [texts.mood_label(tr, m) for m in MOODS],
    "mood_blurb": lambda tr: [texts.mood_blurb(tr, m) for m in MOODS],
    "commands": lambda tr: [d for _, d in texts.commands(tr)],
    "description": lambda tr: [texts.description(tr)],
    "short_description": lambda tr: [texts.short_description(tr)],
    "percent": lambda tr: [texts.percent(tr, p) for p in (0.0, 0.5, 0.834, 1.0)],
    "human_bytes": lambda tr: [texts.human_bytes(tr, n) for n in (10, 900 * 1024, 25 * 2**20)],
    "when": lambda tr: [texts.when(tr, 1.7e9 + month * 2.6e6) for month in range(12)],
    "felt_reply": lambda tr: [texts.felt_reply(tr, p, f) for p in PICKS for f in FEELINGS],
    "greeting_reply": lambda tr: [texts.greeting_reply(tr, g) for g in GREETINGS],
    "hurt_reply": lambda tr: [texts.hurt_reply(tr)],
    "inline_mood_description": lambda tr: [texts.inline_mood_description(tr, m) for m in MOODS],
    "open_in_spotify_button": lambda tr: [texts.open_in_spotify_button(tr)],
    "share_button": lambda tr: [texts.share_button(tr)],
    "share_bot_text": lambda tr: [texts.share_bot_text(tr)],
    "checkin_prompt": lambda tr: [texts.checkin_prompt(tr, c) for c in (None, ("07:30", "UTC+05:30"), ("09:00", "São Paulo"))],
    "checkin_zone_prompt": lambda tr: [texts.checkin_zone_prompt(tr, "21:00")],
    "checkin_off_button": lambda tr: [texts.checkin_off_button(tr)],
    "checkin_set": lambda tr: [texts.checkin_set(tr, "08:00", z) for z in ("Berlin", "UTC-03:00", "<A&B>")],
    "checkin_off": lambda tr: [texts.checkin_off(tr, on) for on in (True, False)],
    "checkin_bad_time": lambda tr: [texts.checkin_bad_time(tr)],
    "checkin_message": lambda tr: [texts.checkin_message(tr, s, late) for s in (0, 1, 2, 5, 21)
                                   for late in (None, ("09:00", 1), ("09:00", 2), ("09:00", 6), ("09:00", 31))],
    "weekly_recap": lambda tr: [texts.weekly_recap(tr, c) for c in ({}, {"happy": 1}, {"calm": 3, "sad": 2, "happy": 1})],
    "group_mood_reply": lambda tr: [texts.group_mood_reply(tr, n, c, "happy", p, min(n, 10)) for p in PICKS
                                    for n, c in ((1, {"happy": 1}), (4, {"happy": 3, "calm": 1}),
                                                 (12, {"happy": 6, "sad": 4}), (22, {"happy": 10}))],
}
# Alerts (answerCallbackQuery) hold at most 200 characters.
ALERTS = ("reading_unknown", "more_unknown", "busy_error", "flooded", "not_yours", "already_sent", "already_chosen",
          "button_gone")


def test_every_text_function_is_rendered_below():
    own = {name for name, f in inspect.getmembers(texts, inspect.isfunction) if f.__module__ == texts.__name__}
    assert own - {"diary_labels"} == set(RENDER)


@pytest.mark.parametrize("code", ["en", *CODES])
def test_every_text_renders_as_telegram_html_in_every_language(code):
    tr = LANGUAGES.get(code).tr
    for name, render in RENDER.items():
        for text in render(tr):
            assert text.strip(), (code, name)
            TelegramHTML().check(text)
            assert len(text) <= 4096, (code, name)
            if name in ALERTS:
                assert len(text) <= 200, f"{code}: the {name} alert has {len(text)} characters"
    for name, description in texts.commands(tr):
        assert 1 <= len(description) <= 256 and re.fullmatch(r"[a-z]{1,32}", name)
    assert len(texts.description(tr)) <= 512 and len(texts.short_description(tr)) <= 120
    # Buttons: short enough to fit two in a row on a phone.
    assert all(len(label) <= 24 for label in [texts.more_button(tr), texts.not_my_mood_button(tr),
                                              texts.language_auto(tr), texts.other_button(tr),
                                              texts.open_in_spotify_button(tr)]
               + [texts.mood_label(tr, m) for m in MOODS] + RENDER["help_button"](tr) + RENDER["show_button"](tr))
    # /help is an overview that fits a phone screen; the details are a tap away.
    assert len(texts.help_text(tr, "mood_lifter_test_bot")) <= 1000, f"{code}: /help is too long"


@pytest.mark.parametrize("code", CODES)
def test_translated_texts_are_translated_not_copied(code):
    """A catalog that copied the English would pass the checks above: most texts must differ."""
    tr, en = LANGUAGES.get(code).tr, LANGUAGES.english.tr
    same = [name for name, render in RENDER.items() if render(tr) == render(en) and name not in ("human_bytes",)]
    assert len(same) <= 3, f"{code}: these read as English: {same}"
    assert LANGUAGES.get(code).name != "English"


def test_plural_forms_follow_the_language():
    ru = LANGUAGES.get("ru").tr
    one, few, many = (texts.forgot(ru, n) for n in (1, 3, 5))
    assert len({one, few, many}) == 3 and texts.forgot(ru, 21) != many
    de = LANGUAGES.get("de").tr
    assert texts.forgot(de, 2) != texts.forgot(de, 1) and texts.forgot(de, 2).replace("2", "5") == texts.forgot(de, 5)


@pytest.mark.parametrize("code", CODES)
def test_the_diary_chart_draws_every_label_in_every_language(code):
    """The chart's font has every letter of the language (no missing-glyph boxes)."""
    tr = LANGUAGES.get(code).tr
    events = [diary.MoodEvent(1.7e9 - i * 86400, MOODS[i % 4], i % 2 == 0) for i in range(8)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font"
        png = diary.render(events, texts.diary_labels(tr, diary.DAYS), now=1.7e9)
    assert png.startswith(b"\x89PNG")


def test_language_buttons_name_each_language_in_itself_and_keep_data_strict():
    markup = keyboards.language_keyboard(LANGUAGES.english.tr, LANGUAGES, current="de")
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert [b.text for b in buttons[:len(LANGUAGES)]] == [
        f"✓ {lang.name}" if lang.code == "de" else lang.name for lang in LANGUAGES]
    for button in buttons:
        assert keyboards.parse_language(button.callback_data, LANGUAGES) is not None
    for forged in ("lang:xx", "lang:", "lang:de;drop", "lang:EN", "lang:pt_br", None):
        assert keyboards.parse_language(forged, LANGUAGES) is None


@pytest.mark.parametrize(("telegram", "chosen", "spoken"), [
    ("de", None, "de"), ("de-AT", None, "de"), ("pt-br", None, "pt_BR"), ("pt", None, "pt_BR"),
    ("pt-PT", None, "pt_BR"), ("ru", None, "ru"), ("fr", None, "en"), (None, None, "en"), ("", None, "en"),
    ("en-GB", None, "en"), ("de", "es", "es"), ("fr", "tr", "tr"), ("de", "xx", "de"),
])
def test_which_language_answers(telegram, chosen, spoken):
    assert LANGUAGES.resolve(chosen, telegram).code == spoken


# --- the issue-24 review: numbers, plurals and words per language ---------------------------------

PLURAL_NS = (0, 1, 2, 5, 21)
PERCENT_SPACE = re.compile(r"[0-9}]\s%|%\s[0-9{]")  # a space between a number and its %


def _plural_texts(tr) -> dict[str, list[tuple[int, str]]]:
    """Every text with a plural form, rendered for PLURAL_NS."""
    return {
        "forgot": [(n, texts.forgot(tr, n)) for n in PLURAL_NS],
        "faces_seen": [(n, texts.faces_seen(tr, n)) for n in PLURAL_NS],
        "flooded": [(n, texts.flooded(tr, "photo", n)) for n in PLURAL_NS],
        "diary_summary": [(n, texts.diary_summary(tr, [("happy", 100)], n, 30)) for n in PLURAL_NS],
        "history": [(n, tr.ngettext("Your last song", "Your last {n} songs", n).format(n=n)) for n in PLURAL_NS],
    }


@pytest.mark.parametrize("code", ["en", *CODES])
def test_plural_texts_name_their_number_for_0_1_2_5_and_21(code):
    """Each plural form shows its count (only a form used for 1 alone may say "one" instead);
    Russian's form for 21, 31… is its "one" form, which must still carry {n}."""
    language = LANGUAGES.get(code)
    for name, rendered in _plural_texts(language.tr).items():
        for n, text in rendered:
            if n == 1 or name == "faces_seen" and n < 2:
                continue
            assert re.search(rf"(?<![0-9]){n}(?![0-9])", text), f"{code}: {name} for {n} reads {text!r}"
            assert "{" not in text, (code, name, text)


def test_russian_plurals_pick_the_right_form():
    ru = LANGUAGES.get("ru").tr
    assert [ru.ngettext("Your last song", "Your last {n} songs", n).format(n=n) for n in (21, 2, 5)] == [
        "Твои последние 21 песня", "Твои последние 2 песни", "Твои последние 5 песен"]
    assert texts.diary_summary(ru, [("sad", 100)], 21, 30).startswith("За последние 30 дней: 21 отметка")


@pytest.mark.parametrize("code", ["en", *CODES])
def test_a_space_before_percent_never_breaks_the_line(code):
    """Where a language puts a space between a number and % ("72 %"), it is a non-breaking one
    (U+00A0 or U+202F), in the catalog and in every rendered text."""
    tr = LANGUAGES.get(code).tr
    rendered = [t for render in RENDER.values() for t in render(tr)]
    entries = [] if code == "en" else [e.msgstr for e in catalog(code).translated_entries()] + [
        v for e in catalog(code).translated_entries() for v in e.msgstr_plural.values()]
    for text in rendered + entries:
        for match in PERCENT_SPACE.finditer(text):
            assert set(match.group()) & {"\u00a0", "\u202f"}, f"{code}: a breaking space at % in {text!r}"
    assert re.fullmatch(r"%?72(\u00a0|\u202f)?%?", texts.percent(tr, 0.72))


def test_the_reviewed_wording_of_each_language():
    """The errors the review found stay fixed: moods as adjectives (es), the reply starting with a
    capital (tr), "least recently heard" (id), German dates and axis, "check-ins"."""
    es, tr_, id_, de, pt = (LANGUAGES.get(c).tr for c in ("es", "tr", "id", "de", "pt_BR"))
    assert [texts.mood_name(es, m) for m in MOODS] == ["tranquila", "alegre", "enérgica", "triste"]
    assert "Estado de ánimo:" not in texts.analysis_reply(es, emotion="neutral", confidence=0.7, mood="happy",
                                                          n_faces=1, pick=None)
    for code in CODES:
        first = texts.analysis_reply(LANGUAGES.get(code).tr, emotion="angry", confidence=0.7, mood="calm",
                                     n_faces=1, pick=None).split(" ", 1)[1]
        assert re.sub(r"^<b>", "", first)[0].isupper(), f"{code}: {first!r}"
    assert "tidak kamu dengar" in texts.exhausted(id_, "sad")
    assert texts.when(de, 1_710_000_000).startswith("9. März")
    assert "Tage zurück" not in repr(texts.diary_labels(de, 30))
    assert "check-ins" in texts.diary_summary(LANGUAGES.english.tr, [("sad", 100)], 3, 30)
    assert "registros" in texts.diary_summary(es, [("sad", 100)], 3, 30)
    assert "registros" in texts.diary_summary(pt, [("sad", 100)], 3, 30)
