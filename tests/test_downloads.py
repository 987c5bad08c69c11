"""Downloads are bounded in size and time, and a failed one is one friendly reply and one log line."""
from __future__ import annotations

import logging
import time
from gettext import NullTranslations

from bot import texts
from bot_harness import bot_config, running_bot, selfie_jpeg

EN = NullTranslations()  # the English the bot speaks by default


async def test_a_file_without_a_size_that_never_ends_is_cut_at_the_limit(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, MAX_DOWNLOAD_BYTES="1000000"), pipeline):
        user = fake.user(301)
        endless = fake.add_misbehaving_file()  # no size anywhere, and the stream never ends
        await user.send_file_id(endless)
        reply = await user.reply()
        assert "too big" in reply.text and "over 976 KB" in reply.text
        # An unsized file under the limit is still read whole and answered.
        small = fake.add_misbehaving_file(stream_bytes=200_000)
        await user.send_file_id(small)
        assert "doesn't look like an image" in (await user.reply()).text
        await user.send_photo(selfie_jpeg(), 512, 512)
        assert "open.spotify.com" in (await user.reply()).text


async def test_a_hanging_download_is_given_up_with_a_friendly_reply(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(bot_config(fake, tmp_path, DOWNLOAD_TIMEOUT_S="2"), pipeline):
        user = fake.user(302)
        await user.send_file_id(fake.add_misbehaving_file(hang=True))
        sent = time.monotonic()
        reply = await user.reply(timeout=10)
        assert reply.text == texts.download_slow(EN)
        assert 1.5 <= reply.at - sent <= 6
        await user.send_photo(selfie_jpeg(), 512, 512)  # the user is served again at once
        assert "open.spotify.com" in (await user.reply(timeout=10)).text
    assert "outcome=download_timeout" in caplog.text


async def test_a_failing_download_is_one_warning_and_a_friendly_reply(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(303)
        await user.send_file_id(fake.add_misbehaving_file(status=500))
        reply = await user.reply()
        assert reply.text == texts.download_failed(EN)
        await user.send_text("/help")  # processed after the photo: its log lines are written
        await user.reply()
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and loud[0].levelname == "WARNING", [r.getMessage() for r in loud]
    assert "HTTP 500" in loud[0].getMessage()
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text
    assert not any(fake.token in r.getMessage() for r in caplog.records if r.name.startswith("bot"))


async def test_getfile_refusing_a_file_over_telegrams_limit_is_too_large(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(304)
        fake.failures["getFile"] = [400]
        fake.failure_descriptions["getFile"] = "Bad Request: file is too big"
        await user.send_document(selfie_jpeg(), "big.jpg", "image/jpeg", size_in_message=False)
        reply = await user.reply()
        assert "too big" in reply.text
