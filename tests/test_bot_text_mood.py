"""What people write, answered through the loopback Bot API with the real bot: a stressed or
tired text gets calm music and a reply that names the feeling (never "you sound calm"), sarcasm
is not cheer, grief gets a kind reply with the four moods, greetings are greeted (issue 24)."""
from __future__ import annotations

import re
from html import escape

from bot import texts
from bot.i18n import Languages
from bot_harness import FIXTURE_CATALOG, bot_config, running_bot
from recommender.music.catalog import Catalog
from recommender.music.service import Pick
from recommender.types import MOODS

LANGUAGES = Languages.load()
LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
CATALOG = Catalog.load(FIXTURE_CATALOG)


def tr(code: str):
    return LANGUAGES.get(code).tr


def mood_of_song(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no song link in {text!r}"
    return CATALOG.get(match.group(1)).mood


def felt_head(code: str, feeling: str) -> str:
    """The first line of the reply to a feeling that wants calm music, in a language."""
    return texts.felt_reply(tr(code), _pick("calm"), feeling).split("\n")[0]


def _pick(mood: str) -> Pick:
    return Pick(CATALOG.songs(mood)[0], mood, restarted=False, lift_step=None, details=None)


def mood_buttons(reply) -> dict[str, str]:
    return {b["callback_data"].split(":")[-1]: b["text"] for b in reply.buttons}


async def test_a_stressed_text_gets_calm_music_and_is_not_told_it_sounds_calm(fake, pipeline, tmp_path):
    users = {}
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        for user_id, code, text, feeling in ((601, "en", "so stressed", "stressed"),
                                             (602, "ru", "устала как собака", "tired"),
                                             (603, "tr", "çok yorgunum", "tired"),
                                             (604, "de", "bin echt sauer", "angry")):
            user = users[user_id] = fake.user(user_id, language_code=code)
            await user.send_text(text)
            reply = await user.reply()
            assert reply.text.split("\n")[0] == felt_head(code, feeling), text
            assert mood_of_song(reply.text) == "calm"
            calm = escape(texts.mood_name(tr(code), "calm"))
            said = tr(code).gettext("Sounds like: <b>{mood}</b> {emoji}").format(mood=calm, emoji="🌊")
            assert said not in reply.text
            assert reply.buttons[0]["text"] == tr(code).gettext("🎵 More")
        english = users[601]
        await english.send_text("need to calm down")  # asking for calm is still "sounds like: calm"
        assert "Sounds like: <b>calm</b>" in (await english.reply()).text


async def test_sarcasm_is_not_answered_with_a_happy_song(fake, pipeline, tmp_path):
    users = {}
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        for user_id, code, text in ((611, "en", "great, another monday 🙄"),
                                    (612, "de", "na toll, wieder Montag"),
                                    (613, "ru", "ну супер, опять понедельник"),
                                    (614, "tr", "harika ya, yine pazartesi")):
            user = users[user_id] = fake.user(user_id, language_code=code)
            await user.send_text(text)
            reply = await user.reply()
            assert mood_of_song(reply.text) != "happy", text
            assert reply.text.split("\n")[0] == felt_head(code, "annoyed")
        user = users[611]
        await user.send_text("great day today!")  # without the eye-roll, the same word is happy
        assert mood_of_song((await user.reply()).text) == "happy"


async def test_grief_gets_a_kind_reply_with_the_four_moods_not_a_selfie_hint(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(621)
        await user.send_text("my dog died this morning")
        kind = await user.reply()
        assert kind.text == texts.hurt_reply(tr("en")) and "selfie" not in kind.text
        assert not LINK.search(kind.text)
        assert set(mood_buttons(kind)) == set(MOODS)
        sad = next(b["callback_data"] for b in kind.buttons if b["callback_data"].endswith(":sad"))
        await user.press(kind, data=sad)
        assert mood_of_song((await user.reply()).text) == "sad"
        spanish = fake.user(622, language_code="es")
        await spanish.send_text("se murió mi perro esta mañana")
        reply = await spanish.reply()
        assert reply.text == texts.hurt_reply(tr("es")) and set(mood_buttons(reply)) == set(MOODS)


async def test_greetings_are_greeted_not_read_as_happy(fake, pipeline, tmp_path):
    users = {}
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        for user_id, code, text, greeting in ((631, "en", "good morning", "morning"),
                                              (632, "tr", "iyi geceler", "night"),
                                              (633, "es", "buenas noches", "night"),
                                              (634, "ru", "доброе утро", "morning"),
                                              (635, "de", "guten Abend", "evening")):
            user = users[user_id] = fake.user(user_id, language_code=code)
            await user.send_text(text)
            reply = await user.reply()
            assert reply.text == texts.greeting_reply(tr(code), greeting) != texts.hint(tr(code)), text
            assert not LINK.search(reply.text) and set(mood_buttons(reply)) == set(MOODS)
        user = users[631]
        await user.send_text("good morning, feeling great")  # a greeting does not swallow a feeling
        assert mood_of_song((await user.reply()).text) == "happy"
        await user.send_text("hi")  # a plain hello gets the hint, which says what to do
        assert (await user.reply()).text == texts.hint(tr("en"))


async def test_english_mixed_into_german_but_not_its_false_friends(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(641, language_code="de")
        await user.send_text("feeling low heute")
        assert mood_of_song((await user.reply()).text) == "sad"
        await user.send_text("bin grad im Bad")  # "Bad" is the bathroom
        assert (await user.reply()).text == texts.hint(tr("de"))
