"""The small cases: updates with no sender, channels, forged button data, a failing database,
and what the log says about people (outcomes, not what their face showed)."""
from __future__ import annotations

import logging
import sqlite3
import time
from gettext import NullTranslations

from bot import texts
from bot_harness import bot_config, running_bot, selfie_jpeg
from fake_telegram import BOT_USER, FakeTelegram

EN = NullTranslations()  # the English the bot speaks by default

ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
CHANNEL = {"id": -1001000500, "type": "channel", "title": "News"}
GROUP = {"id": -1001000600, "type": "supergroup", "title": "Friends"}
MENTION = f"@{BOT_USER['username']} how do I look?"


def _message(fake: FakeTelegram, chat: dict, **fields: object) -> dict:
    message = {"message_id": next(fake._message_ids), "date": int(time.time()), "chat": chat, **fields}
    text = fields.get("text")
    if isinstance(text, str) and text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return message


def _photo(fake: FakeTelegram) -> list[dict]:
    file_id = fake.add_file(selfie_jpeg())
    return [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 512, "height": 512,
             "file_size": len(selfie_jpeg())}]


async def _processed(fake: FakeTelegram, last: dict) -> None:
    """Wait until the bot has fetched every update up to `last`; leaving running_bot then waits
    for their processing to finish."""
    await fake.wait_for(lambda: not any(u["update_id"] <= last["update_id"] for u in fake.updates))


def _loud(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_updates_without_a_sender_and_channel_posts_are_ignored_quietly(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        pushes = []
        for text in ("/start", "/help", "/forget", "/lift"):
            pushes.append({"channel_post": _message(fake, CHANNEL, sender_chat=CHANNEL, text=text)})
        pushes.append({"channel_post": _message(fake, CHANNEL, sender_chat=CHANNEL, photo=_photo(fake),
                                                caption=MENTION)})
        for text in ("/forget", "/lift"):  # an anonymous group admin, and a message without `from`
            pushes.append({"message": _message(fake, GROUP, sender_chat=GROUP, text=text, **{"from": ANONYMOUS_ADMIN})})
            pushes.append({"message": _message(fake, GROUP, text=text)})
        pushes.append({"message": _message(fake, GROUP, sender_chat=GROUP, photo=_photo(fake), caption=MENTION,
                                           **{"from": ANONYMOUS_ADMIN})})
        pushes.append({"message": _message(fake, GROUP, photo=_photo(fake), caption=MENTION)})
        for update in pushes:
            last = await fake.push(update)
        user = fake.user(430)  # people are still served meanwhile
        await user.send_text("/start")
        assert "selfie" in (await user.reply()).text
        await _processed(fake, last)
    assert fake.sent_to(CHANNEL["id"]) == [] and fake.sent_to(GROUP["id"]) == []
    assert "getFile" not in fake.calls  # no photo of theirs was even downloaded
    assert _loud(caplog) == []


async def test_forged_button_data_gets_the_stale_button_alert_and_is_never_echoed(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    forged = ["more:happy:²", "more:happy:" + "9" * 5000, "more:happy:٣", "more:HAPPY", "more:happy:7:7"]
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(431)
        await user.send_text("/start")
        start = await user.reply()
        for data in forged:
            await user.press(start, data=data)
        await fake.wait_for(lambda: len([s for s in fake.sent if s.method == "answerCallbackQuery"]) == len(forged))
    answers = [s for s in fake.sent if s.method == "answerCallbackQuery"]
    assert all(a.params["text"] == texts.more_unknown(EN) and a.params["show_alert"] for a in answers)
    assert _loud(caplog) == []
    assert "²" not in caplog.text and "99999" not in caplog.text and "٣" not in caplog.text


async def test_a_more_press_during_a_database_failure_gets_one_alert(fake, pipeline, tmp_path, caplog):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(432)
        await user.send_photo(selfie_jpeg(), 512, 512)
        song = await user.reply()
        with sqlite3.connect(config.database_path) as db:  # the database breaks under the bot
            db.executescript("DROP TABLE served; DROP TABLE user_settings;")
        await user.press(song)
        await user.send_text("/lift")  # processed after the press (same user, in order)
        assert (await user.reply()).text == texts.busy_error(EN)  # a failing command: one message
        assert user.unread() == []  # the press sent no message: its failure is the alert
    answers = [s for s in fake.sent if s.method == "answerCallbackQuery"]
    assert len(answers) == 1 and fake.calls.count("answerCallbackQuery") == 1
    assert answers[0].params["text"] == texts.busy_error(EN) and answers[0].params["show_alert"] is True


async def test_an_old_press_whose_alert_is_refused_is_told_in_the_chat(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(433)
        await user.send_photo(selfie_jpeg(), 512, 512)
        song = await user.reply()
        with sqlite3.connect(config.database_path) as db:
            db.executescript("DROP TABLE served; DROP TABLE user_settings;")
        fake.failures["answerCallbackQuery"] = [400]  # a query too old to be answered
        await user.press(song)
        assert (await user.reply()).text == texts.busy_error(EN)


async def test_logs_tell_outcomes_not_emotions(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(434)
        await user.send_photo(selfie_jpeg(), 512, 512)
        song = await user.reply()
        await user.press(song)
        await user.reply()
        await user.send_text("/help")
        await user.reply()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.updates"]
    photo = next(line for line in lines if "kind=photo" in line)
    assert "outcome=song" in photo and "faces=1" in photo
    assert any("outcome=more" in line for line in lines)
    for word in ("emotion=", "mood=", "happy", "sad", "calm", "energetic", "neutral", "surprise"):
        assert not any(word in line for line in lines), word
