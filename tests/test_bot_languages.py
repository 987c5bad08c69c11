"""The bot in its users' languages, end to end through the loopback Bot API with the real bot and
models: one user whose Telegram is German (language_code), one who picks Russian with /language;
the command menu and profile in every language; the choice kept in the history and wiped by /forget."""
from __future__ import annotations

import re
from html import escape

from bot import texts
from bot.i18n import Languages
from bot_harness import bot_config, running_bot, selfie_jpeg
from recommender.store.sqlite import SQLiteHistoryStore
from recommender.types import MOODS

LANGUAGES = Languages.load()
EN, DE, RU = (LANGUAGES.get(code).tr for code in ("en", "de", "ru"))
LINK = re.compile(r"https://open\.spotify\.com/track/[0-9A-Za-z]{22}")


async def stored_language(config, user_id: int) -> str | None:
    """The /language choice in the bot's history database (None: follow Telegram)."""
    store = await SQLiteHistoryStore.open(config.database_path)
    try:
        return await store.get_language(user_id)
    finally:
        await store.close()


def first_line(template: str) -> str:
    """The words of a translated text before its first placeholder or tag."""
    return re.split(r"[{<]", template, maxsplit=1)[0].strip()


async def test_a_german_telegram_is_answered_in_german_in_every_step(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(301, language_code="de")
        await user.send_text("/start")
        assert (await user.reply()).text == texts.start(DE) != texts.start(EN)

        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        assert texts.looks(DE, "happy") in reply.text and LINK.search(reply.text)
        assert "You look" not in reply.text and "sure" not in reply.text
        assert [b["text"] for b in reply.buttons] == [texts.more_button(DE), texts.not_my_mood_button(DE),
                                                      texts.open_in_spotify_button(DE), texts.share_button(DE)]
        assert texts.more_button(DE) != texts.more_button(EN)

        await user.press(reply, data=reply.buttons[1]["callback_data"])  # Not my mood
        edit = await fake.wait_for(lambda: fake.sent_to(301, "editMessageReplyMarkup"))
        labels = {b["callback_data"].rsplit(":", 1)[1]: b["text"] for b in edit[0].buttons if "callback_data" in b}
        assert labels == {m: texts.mood_label(DE, m) for m in MOODS}
        await user.press(reply, data=next(b["callback_data"] for b in edit[0].buttons
                                          if b.get("callback_data", "").endswith(":calm")))
        chosen = await user.reply()
        assert chosen.text.startswith(first_line(DE.gettext(
            "Got it — {emoji} <b>{mood}</b>. I'll keep that in mind next time.")))
        assert escape(texts.mood_name(DE, "calm")) in chosen.text

        await user.press(chosen)  # More
        more = await user.reply()
        assert more.text.startswith(first_line(DE.gettext("Another {emoji} {mood} song:")))

        await user.send_text("ich bin so traurig heute")  # the German words, not the English ones
        asked = await user.reply()
        assert escape(texts.mood_name(DE, "sad")) in asked.text and LINK.search(asked.text)

        await user.send_text("/diary")
        sent = await fake.wait_for(lambda: fake.sent_to(301, "sendPhoto"))
        caption = str(sent[0].params["caption"])
        assert caption.startswith(first_line(DE.gettext("Your last {days} days: {count} — {shares}.")))
        assert DE.ngettext("{n} check-in", "{n} check-ins", 2).format(n=2) in caption  # the corrected selfie and the text

        await user.send_text("hallo")
        assert (await user.reply()).text == texts.hint(DE)
        await user.send_sticker()
        assert (await user.reply()).text == texts.unsupported_media(DE, "sticker")

        brazilian = fake.user(302, language_code="pt-br")  # a region falls back to its language
        await brazilian.send_text("/help")
        assert (await brazilian.reply()).text == texts.help_text(LANGUAGES.get("pt_BR").tr, "mood_lifter_test_bot")
        french = fake.user(303, language_code="fr")  # a language the bot does not speak: English
        await french.send_text("/start")
        assert (await french.reply()).text == texts.start(EN)


async def test_the_command_menu_and_profile_are_published_in_every_language(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        await fake.wait_for(lambda: len([k for k in fake.profile if k[1] == "default"]) == 3 * len(LANGUAGES))
        for language in LANGUAGES:
            code = None if language.code == "en" else language.api_code
            menu = fake.profile[("commands", "default", code)]
            assert [(c["command"], c["description"]) for c in menu] == texts.commands(language.tr)
            assert fake.profile[("description", "default", code)] == texts.description(language.tr)
            assert fake.profile[("short_description", "default", code)] == texts.short_description(language.tr)
        assert fake.profile[("commands", "default", "ru")] != fake.profile[("commands", "default", None)]


async def test_language_command_switches_keeps_and_forget_wipes_the_choice(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(311, language_code="en")
        await user.send_text("/language")
        menu = await user.reply()
        assert menu.text == texts.language_prompt(EN, "English")
        names = [b["text"] for b in menu.buttons]
        assert names[:len(LANGUAGES)] == [lang.name for lang in LANGUAGES] and "Русский" in names
        await user.press(menu, data=next(b["callback_data"] for b in menu.buttons if b["text"] == "Русский"))
        edited = await fake.wait_for(lambda: fake.sent_to(311, "editMessageText"))
        assert edited[0].text == texts.language_set(RU) != texts.language_set(EN)
        # This chat's command menu follows the choice (Telegram would show the app's language).
        await fake.wait_for(lambda: ("commands", "chat:311", None) in fake.profile)
        assert [c["description"] for c in fake.profile[("commands", "chat:311", None)]] == \
            [d for _, d in texts.commands(RU)]

        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        assert texts.looks(RU, "happy") in reply.text
        assert [b["text"] for b in reply.buttons] == [texts.more_button(RU), texts.not_my_mood_button(RU),
                                                      texts.open_in_spotify_button(RU), texts.share_button(RU)]
        await user.send_text("мне очень грустно")
        assert escape(texts.mood_name(RU, "sad")) in (await user.reply()).text

    async with running_bot(config, pipeline):  # kept in the history across a restart
        await user.send_text("/language")
        again = await user.reply()
        assert again.text == texts.language_prompt(RU, "Русский")
        assert "✓ Русский" in [b["text"] for b in again.buttons]
        await user.send_text("/forget")
        forgot = await user.reply()
        assert forgot.text.startswith(first_line(RU.ngettext(
            "Done — I forgot the song I had served you, your moods and choices, and your settings. 🧹",
            "Done — I forgot the {n} songs I had served you, your moods and choices, and your settings. 🧹", 2)))
        await fake.wait_for(lambda: ("commands", "chat:311", None) not in fake.profile)
        await user.send_text("/start")
        assert (await user.reply()).text == texts.start(EN)  # back to the Telegram app's language
    assert await stored_language(config, 311) is None


async def test_same_as_telegram_and_forged_language_buttons(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(321, language_code="tr")
        await user.press(data="lang:de")  # an old /language message scrolled back to
        await fake.wait_for(lambda: fake.sent_to(321, "sendMessage") or fake.sent_to(321, "editMessageText"))
        await user.send_text("/start")
        assert (await user.reply()).text == texts.start(DE)
        await user.press(data="lang:auto")
        await fake.wait_for(lambda: len(fake.sent_to(321, "editMessageText")) == 2)
        assert fake.sent_to(321, "editMessageText")[-1].text == texts.language_set(LANGUAGES.get("tr").tr)
        await user.send_text("/start")
        assert (await user.reply()).text == texts.start(LANGUAGES.get("tr").tr)
        for forged in ("lang:xx", "lang:de;x", "lang:" + "a" * 80, "lang:EN"):
            await user.press(data=forged)
        await fake.wait_for(lambda: sum(1 for s in fake.sent if s.method == "answerCallbackQuery"
                                        and s.params.get("show_alert")) == 4)
    assert await stored_language(config, 321) is None


async def test_forget_after_only_choosing_a_language_says_what_it_forgot(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(331, language_code="es")
        await user.send_text("/language")
        menu = await user.reply()
        await user.press(menu, data="lang:de")
        await fake.wait_for(lambda: fake.sent_to(331, "editMessageText"))
        await user.send_text("/forget")
        assert (await user.reply()).text == texts.forgot_settings(DE)  # no "0 songs"
        await user.send_text("/forget")
        assert (await user.reply()).text == texts.forgot_nothing(LANGUAGES.get("es").tr)
