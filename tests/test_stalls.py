"""A few slow users cannot stall everyone, and texts and presses are flood-limited like photos."""
from __future__ import annotations

import time
from gettext import NullTranslations

from bot import texts
from bot_harness import bot_config, running_bot, selfie_jpeg

EN = NullTranslations()  # the English the bot speaks by default


async def test_users_stuck_on_a_download_with_queued_texts_do_not_stall_a_new_user(fake, pipeline, tmp_path):
    # 3 users × (1 hanging download + 4 texts) = 15 updates, more than the 8 global slots.
    config = bot_config(fake, tmp_path, MAX_CONCURRENT_UPDATES="8", DOWNLOAD_TIMEOUT_S="4")
    async with running_bot(config, pipeline):
        stuck = [fake.user(400 + n) for n in range(3)]
        hanging = [fake.add_misbehaving_file(hang=True) for _ in stuck]
        for user, file_id in zip(stuck, hanging):
            await user.send_file_id(file_id)
            for _ in range(4):
                await user.send_text("hello?")
        await fake.wait_for(lambda: all(f in fake.downloads for f in hanging))
        newcomer = fake.user(499)
        offered = time.monotonic()
        await newcomer.send_text("/start")
        reply = await newcomer.reply(timeout=3)  # well before any stuck download gives up
        assert "selfie" in reply.text and reply.at - offered < 1.0
        # The stuck users hear that it took too long, then get their texts answered, in order.
        for user in stuck:
            first = await user.reply(timeout=10)
            assert first.text == texts.download_slow(EN)
            assert [(await user.reply()).text for _ in range(4)] == [texts.hint(EN)] * 4


async def test_texts_are_flood_limited_politely_once(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, TEXTS_PER_MINUTE="3"), pipeline):
        user, other = fake.user(410), fake.user(411)
        for _ in range(8):
            await user.send_text("hi")
        await user.send_photo(selfie_jpeg(), 512, 512)  # photos have their own limit
        await fake.wait_for(lambda: any("open.spotify.com" in s.text for s in fake.sent_to(410)))
        replies = [s.text for s in fake.sent_to(410)]
        assert replies[:3] == [texts.hint(EN)] * 3
        assert replies[3] == texts.flooded(EN, "text", 0) and len(replies) == 5
        await other.send_text("/start")  # others are not affected
        assert "selfie" in (await other.reply()).text


async def test_more_presses_are_flood_limited_with_one_alert(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, PRESSES_PER_MINUTE="2"), pipeline):
        user = fake.user(412)
        await user.send_photo(selfie_jpeg(), 512, 512)
        song = await user.reply()
        for _ in range(5):
            await user.press(song)
        await user.send_text("/help")  # processed after the presses (same user, in order)
        await fake.wait_for(lambda: any("How to use me" in s.text for s in fake.sent_to(412)))
        songs = [s for s in fake.sent_to(412) if "open.spotify.com" in s.text]
        assert len(songs) == 2  # the photo's song and one More: the same button twice serves once
        alerts = [s for s in fake.sent if s.method == "answerCallbackQuery" and s.params.get("show_alert")]
        assert len(alerts) == 1 and alerts[0].params["text"] == texts.flooded(EN, "press", 0)
        assert fake.calls.count("answerCallbackQuery") == 5  # every press answered, once


async def test_photos_wait_their_turn_in_order_without_holding_up_texts(fake, pipeline, tmp_path):
    """PHOTOS_IN_FLIGHT: one photo in hand here (a download that hangs); the photos behind it wait in
    the order sent, giving their processing slots back, so a text is answered at once."""
    config = bot_config(fake, tmp_path, PHOTOS_IN_FLIGHT="1", MAX_CONCURRENT_UPDATES="2",
                        DOWNLOAD_TIMEOUT_S="3")
    async with running_bot(config, pipeline):
        stuck, first, second, talker = (fake.user(420 + n) for n in range(4))
        hanging = fake.add_misbehaving_file(hang=True)
        await stuck.send_file_id(hanging)
        await fake.wait_for(lambda: hanging in fake.downloads)
        await first.send_photo(selfie_jpeg(), 512, 512)
        await second.send_photo(selfie_jpeg(), 512, 512)
        offered = time.monotonic()
        await talker.send_text("/start")
        reply = await talker.reply(timeout=2)  # before the stuck download gives up
        assert "selfie" in reply.text and reply.at - offered < 1.0
        assert fake.sent_to(first.id) == [] and fake.sent_to(second.id) == []  # still waiting
        assert (await stuck.reply(timeout=10)).text == texts.download_slow(EN)
        answers = [await first.reply(), await second.reply()]
        assert all("open.spotify.com" in a.text for a in answers)
        assert answers[0].at <= answers[1].at
