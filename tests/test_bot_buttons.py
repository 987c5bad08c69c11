"""Buttons a user can trust, through the loopback Bot API with the real bot and models: /start and
/help lead on with buttons, an older song's More answers politely, and in a group only the person a
message answers can press its buttons (forged data included); /forget stays out of groups."""
from __future__ import annotations

import re

from bot import texts
from bot.i18n import Languages
from bot_harness import bot_config, running_bot, selfie_jpeg
from recommender.store.sqlite import SQLiteHistoryStore
from recommender.types import MOODS

EN = Languages.load().english.tr
LINK = re.compile(r"https://open\.spotify\.com/track/[0-9A-Za-z]{22}")
MENTION = "@mood_lifter_test_bot"


def answers(fake) -> list:
    return [s for s in fake.sent if s.method == "answerCallbackQuery"]


async def test_start_leads_on_with_buttons_and_help_details_are_a_tap_away(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(501)
        await user.send_text("/start")
        start = await user.reply()
        assert [b["text"] for b in start.buttons] == ["📸 How it works", "🎧 Pick a mood"]
        await user.press(start, data=start.buttons[1]["callback_data"])
        picker = await user.reply()
        assert picker.text == texts.mood_prompt(EN) and len(picker.buttons) == len(MOODS)
        await user.press(picker, data=next(b["callback_data"] for b in picker.buttons if b["text"].endswith("sad")))
        song = await user.reply()
        assert LINK.search(song.text) and "sad" in song.text
        closed = await fake.wait_for(lambda: fake.sent_to(501, "editMessageText"))
        assert closed[0].text.endswith("✅ Your pick: 🌧 sad") and not closed[0].buttons
        await user.press(start)  # How it works: the details, as a new message
        how = await user.reply()
        assert how.text.startswith("<b>How it works</b>") and "angry → 🌊 calm" in how.text

        await user.send_text("/help")
        help_ = await user.reply()
        assert len(help_.text) <= 1000 and "/forget" in help_.text and "Not my mood" in help_.text
        labels = {b["text"]: b["callback_data"] for b in help_.buttons}
        await user.press(help_, data=labels["🔒 What I keep"])
        detail = await fake.wait_for(lambda: [e for e in fake.sent_to(501, "editMessageText")
                                              if int(e.params["message_id"]) == help_.message_id])
        assert "never stored" in detail[0].text and "emotion scores" in detail[0].text and not user.unread()
        assert "◀️ Back" in [b["text"] for b in detail[0].buttons]
        back = next(b["callback_data"] for b in detail[0].buttons if b["text"] == "◀️ Back")
        await user.press(help_, data=back)
        await fake.wait_for(lambda: len([e for e in fake.sent_to(501, "editMessageText")
                                         if int(e.params["message_id"]) == help_.message_id]) == 2)
        assert fake.sent_to(501, "editMessageText")[-1].text == help_.text


async def test_more_moves_to_the_newest_song_and_an_older_more_answers_politely(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(502)
        await user.send_photo(selfie_jpeg(), 512, 512)
        first = await user.reply()
        await user.press(first)  # More
        second = await user.reply()
        assert [b["text"] for b in second.buttons] == ["🎵 More", "🎧 Open in Spotify", "📤 Share"]
        edit = await fake.wait_for(lambda: fake.sent_to(502, "editMessageReplyMarkup"))
        assert int(edit[0].params["message_id"]) == first.message_id
        assert [b["text"] for b in edit[0].buttons] == ["🎭 Not my mood", "🎧 Open in Spotify", "📤 Share"]
        # Its More tapped again before the edit reached the phone: nothing new, a polite word.
        await user.press(first, data=first.buttons[0]["callback_data"])
        await fake.wait_for(lambda: len(answers(fake)) == 2)
        assert answers(fake)[-1].text == texts.button_gone(EN) and not user.unread()
        # A More from before this version (the message still has it) still serves a song.
        await user.press(data="more:happy")
        assert LINK.search((await user.reply()).text)


async def test_in_a_group_only_the_person_answered_can_press_and_forged_data_changes_nothing(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        alice = fake.user(511, chat_id=-100511, chat_type="supergroup")
        bob = fake.user(512, chat_id=-100511, chat_type="supergroup")
        await alice.send_text("/language")
        menu = await alice.reply()
        await bob.press(menu, data=next(b["callback_data"] for b in menu.buttons if b["text"] == "Deutsch"))
        await fake.wait_for(lambda: len(answers(fake)) == 1)
        assert answers(fake)[0].text == texts.not_yours(EN) and answers(fake)[0].params.get("show_alert")

        await alice.send_photo(selfie_jpeg(), 512, 512, caption=f"{MENTION} me?")
        song = await alice.reply()
        # The room's song (issue 27): no "Not my mood" to rewrite, More is everyone's.
        assert [b["text"] for b in song.buttons] == ["🎵 More", "🎧 Open in Spotify", "📤 Share"]
        # Forged data on it, a correction with Alice's id and with none: refused, nothing changes.
        await bob.press(song, data="fix:1@511")
        await bob.press(song, data="fix:1")
        await fake.wait_for(lambda: len(answers(fake)) == 3)
        assert all(a.params.get("show_alert") for a in answers(fake))
        assert not fake.sent_to(-100511, "editMessageText") and not fake.sent_to(-100511, "editMessageReplyMarkup")
        await bob.press(song)  # More: the room's next song, whoever presses
        more = await fake.wait_for(lambda: [s for s in fake.sent_to(-100511, "sendMessage")
                                            if s.message_id > song.message_id and LINK.search(s.text)])
        await fake.wait_for(lambda: len(answers(fake)) == 4)
        assert more and not answers(fake)[-1].params.get("show_alert")

        await bob.send_text("/forget@mood_lifter_test_bot")  # a tappable command in a group
        refused = await fake.wait_for(lambda: [s for s in fake.sent_to(-100511) if "private chat" in s.text])
        assert refused
    store = await SQLiteHistoryStore.open(config.database_path)
    try:
        assert await store.get_language(511) is None and await store.get_language(512) is None
        assert len(await store.recent_songs(-100511, 10)) == 2  # the room's history survived the group /forget
    finally:
        await store.close()
