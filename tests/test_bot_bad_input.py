"""Bad input never crashes the bot nor loses history, and always gets a clear reply."""
from __future__ import annotations

import tempfile
from gettext import NullTranslations
from pathlib import Path

from bot import texts
from bot_harness import (
    bot_config,
    no_face_jpeg,
    png_bomb,
    running_bot,
    selfie_jpeg,
)
from recommender.store.sqlite import SQLiteHistoryStore

EN = NullTranslations()  # the English the bot speaks by default


async def test_each_bad_input_gets_a_reply_and_the_bot_keeps_going(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(201)
        await user.send_photo(selfie_jpeg(), 512, 512)
        good = await user.reply()
        assert "open.spotify.com" in good.text

        cases = [
            (user.send_document(b"%PDF-1.4 not an image", "cv.pdf", "application/pdf"), "isn't an image"),
            (user.send_document(b"\x00garbage" * 100, "x.jpg", "image/jpeg"), "doesn't look like an image"),
            (user.send_document(selfie_jpeg()[: len(selfie_jpeg()) // 2], "cut.jpg", "image/jpeg"),
             "damaged or incomplete"),
            (user.send_photo(no_face_jpeg(), 400, 300), "couldn't find a face"),
            (user.send_document(png_bomb(), "bomb.png", "image/png"), "too large"),
            (user.send_sticker(), "sticker"),
            (user.send_video(), "video"),
            (user.send_voice(), "voice"),
            (user.send_animation(), "GIFs are fun"),
            (user.send_text("hello?"), "selfie"),
        ]
        for send, expected in cases:
            await send
            reply = await user.reply()
            assert expected in reply.text, (expected, reply.text)
        assert "face the camera" in fake.sent_to(201)[4].text  # the no-face tip
        assert all(s.params.get("reply_markup") is None for s in fake.sent_to(201)[1:])

        # Still alive and the history is intact: More continues where it was.
        await user.press(good)
        more = await user.reply()
        assert "open.spotify.com" in more.text
    store = await SQLiteHistoryStore.open(config.database_path)
    try:
        assert await store.count(201) == 2
    finally:
        await store.close()


async def test_oversized_files_are_refused_before_downloading(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, MAX_DOWNLOAD_BYTES="1000000"), pipeline):
        user = fake.user(202)
        await user.send_document(b"\xff\xd8" + b"0" * 100, "huge.jpg", "image/jpeg", declared_size=50_000_000)
        reply = await user.reply()
        assert "too big" in reply.text and "47.7 MB" in reply.text
        assert "getFile" not in fake.calls and "download" not in fake.calls
        # A file whose size only getFile reveals is checked there, still before downloading.
        await user.send_document(b"\xff\xd8" + b"0" * 100, "fwd.jpg", "image/jpeg",
                                 declared_size=30_000_000, size_in_message=False)
        reply = await user.reply()
        assert "too big" in reply.text
        assert fake.calls.count("getFile") == 1 and "download" not in fake.calls


async def test_stale_or_unknown_buttons_are_answered(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(203)
        await user.send_text("/start")
        start = await user.reply()
        for data in ("more:bogus", "something-else"):
            await user.press(start, data=data)
            answer = await fake.wait_for(lambda: [s for s in fake.sent if s.method == "answerCallbackQuery"
                                                  and s.params.get("text") == texts.more_unknown(EN)][
                                                  (0 if data == "more:bogus" else 1):] or None)
            assert answer[0].params.get("show_alert") is True


async def test_group_chats_only_answer_photos_that_mention_the_bot(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        member = fake.user(204, chat_id=-1000204, chat_type="supergroup")
        await member.send_photo(selfie_jpeg(), 512, 512)  # not addressed to the bot: ignored
        await member.send_text("lol")  # ignored
        await member.send_text("/start")
        hint = await member.reply()
        assert "private chat" in hint.text  # the first reply is to /start: the rest was ignored
        await member.send_photo(selfie_jpeg(), 512, 512, caption="@mood_lifter_test_bot how do I look?")
        answer = await member.reply()
        assert "open.spotify.com" in answer.text
        assert answer.params.get("reply_parameters")  # quotes the photo it answers
        await member.send_photo(selfie_jpeg(), 512, 512, reply_to=answer)  # a reply to the bot
        assert "open.spotify.com" in (await member.reply()).text


async def test_flood_control_answers_politely_once_and_bounds_work(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, PHOTOS_PER_MINUTE="2"), pipeline):
        user = fake.user(205)
        for _ in range(6):
            await user.send_photo(no_face_jpeg(), 400, 300)
        await user.send_text("/help")  # processed after the photos (same user, in order)
        await fake.wait_for(lambda: any("How to use me" in s.text for s in fake.sent_to(205)))
        replies = [s.text for s in fake.sent_to(205)]
        assert sum("couldn't find a face" in t for t in replies) == 2
        assert sum("lot of photos" in t for t in replies) == 1
        assert len(replies) == 4


async def test_transient_send_failures_and_flood_waits_are_retried(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(206)
        fake.failures["sendMessage"] = [502, 429]  # a network error, then "retry after 1 s"
        await user.send_text("/start")
        reply = await user.reply()
        assert "selfie" in reply.text.lower()
        assert fake.calls.count("sendMessage") == 3
        assert len(fake.sent_to(206)) == 1  # delivered once


async def test_one_users_queue_is_bounded(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, MAX_PENDING_PER_USER="3"), pipeline):
        user, other = fake.user(208), fake.user(209)
        for _ in range(10):
            await user.send_text("/help")
        await other.send_text("/help")
        await other.reply()  # others are unaffected
        await fake.wait_for(lambda: len(fake.sent_to(208)) >= 3)
        await user.send_text("/start")  # and the user is served again once the queue drains
        await fake.wait_for(lambda: any("selfie" in s.text for s in fake.sent_to(208)))
        helps = [s for s in fake.sent_to(208) if "How to use me" in s.text]
        assert len(helps) == 3


async def test_photos_never_touch_the_disk(fake, pipeline, tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    config = bot_config(fake, tmp_path)
    data_dir = Path(config.database_path).parent
    async with running_bot(config, pipeline):
        user = fake.user(207)
        for image in (selfie_jpeg(), no_face_jpeg()):
            await user.send_photo(image, 512, 512)
            await user.reply()
        await user.send_document(selfie_jpeg(), "me.jpg", "image/jpeg")
        await user.reply()
    assert list(temp.iterdir()) == []
    assert {p.name for p in data_dir.iterdir()} <= {"mood.sqlite3", "mood.sqlite3-wal", "mood.sqlite3-shm"}
