"""The bot's pure parts: configuration, flood control, callback data, texts, log hygiene."""
from __future__ import annotations

import io
import logging
from gettext import NullTranslations

import pytest

from bot import keyboards, texts
from bot.config import DEFAULT_API_URL, DEFAULT_FILE_URL, Config, ConfigError
from bot.limits import FloodGate, Floods, Verdict
from bot.logs import RedactingFormatter, user_tag
from recommender.mood import EMOTION_TO_MOOD
from recommender.music.service import Pick
from recommender.types import Song

EN = NullTranslations()  # the English the bot speaks by default

TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnn"


def test_config_defaults_and_repr_hides_secrets():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://x.example/hook",
                              "WEBHOOK_SECRET": "s3cret-value"})
    assert config.api_url == DEFAULT_API_URL == "https://api.telegram.org/bot"
    assert config.file_url == DEFAULT_FILE_URL == "https://api.telegram.org/file/bot"
    assert config.webhook_mode and config.webhook_path == "hook"
    assert TOKEN not in repr(config) and "s3cret-value" not in repr(config)


@pytest.mark.parametrize("env, needle", [
    ({}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "my bot"}, "does not look like a bot token"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "PORT": "eighty"}, "PORT must be a whole number"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://x.example/hook", "WEBHOOK_SECRET": "a"}, "https"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://x.example/hook"}, "WEBHOOK_SECRET is required"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TYPING_AFTER_S": "soon"}, "TYPING_AFTER_S must be a number"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TYPING_AFTER_S": "-1"}, "TYPING_AFTER_S must be between 0 and 60"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "MESSAGES_PER_SECOND": "0"}, "MESSAGES_PER_SECOND must be at least 1"),
])
def test_config_errors_are_one_clear_line(env, needle):
    with pytest.raises(ConfigError) as err:
        Config.from_env(env)
    assert needle in str(err.value) and "\n" not in str(err.value)
    assert TOKEN not in str(err.value)


def test_flood_gate_allows_n_per_window_warns_once_then_drops():
    now = [0.0]
    gate = FloodGate(3, window_s=60, clock=lambda: now[0])
    assert [gate.check(1) for _ in range(3)] == [Verdict.ALLOW] * 3
    assert gate.check(1) is Verdict.WARN
    assert gate.check(1) is Verdict.DROP
    assert gate.check(2) is Verdict.ALLOW  # other users are not affected
    now[0] = 61.0  # the window slid past the first three
    assert gate.check(1) is Verdict.ALLOW
    assert [gate.check(1) for _ in range(2)] == [Verdict.ALLOW] * 2
    assert gate.check(1) is Verdict.WARN  # a new window may warn again


def test_more_button_carries_its_mood():
    markup = keyboards.song_keyboard(EN, "https://open.spotify.com/track/abc", "calm")
    button = markup.inline_keyboard[0][0]
    assert markup.inline_keyboard[1][0].url == "https://open.spotify.com/track/abc"
    assert button.text == "🎵 More"
    assert keyboards.parse_more(button.callback_data) == keyboards.MoreRequest("calm", None)
    lifted = keyboards.song_keyboard(EN, "u", "sad", step=3).inline_keyboard[0][0].callback_data
    assert keyboards.parse_more(lifted) == keyboards.MoreRequest("sad", 3)
    assert keyboards.parse_more("more:sad:x") is None
    assert len(button.callback_data.encode()) <= 64  # Telegram's limit
    assert keyboards.parse_more("other:x") is None and keyboards.parse_more(None) is None
    # Data comes back from the client: only what more_data writes is read, the rest is stale.
    for forged in ("more:sad:²", "more:sad:" + "9" * 5000, "more:sad:٣", "more:Sad", "more:sad:1:2",
                   "more:", "more:sad:", "more:sad\n", " more:sad"):
        assert keyboards.parse_more(forged) is None, forged


def test_mood_buttons_round_trip_and_refuse_anything_else():
    row = keyboards.song_keyboard(EN, "u", "calm", reading=123456789012345678).inline_keyboard[0]
    assert [b.text for b in row] == ["🎵 More", "🎭 Not my mood"]
    assert keyboards.parse_fix(row[1].callback_data) == 123456789012345678
    picks = [b for r in keyboards.pick_keyboard(EN, 42).inline_keyboard for b in r]
    assert [keyboards.parse_pick(b.callback_data) for b in picks] == [
        keyboards.PickRequest(42, m) for m in ("calm", "happy", "energetic", "sad")]
    assert all(len(b.callback_data.encode()) <= 64 for b in picks + list(row))
    menu = [b for r in keyboards.mood_keyboard(EN).inline_keyboard for b in r]
    assert [keyboards.parse_mood(b.callback_data) for b in menu] == ["calm", "happy", "energetic", "sad"]
    for forged in ("fix:", "fix:0", "fix:01", "fix:1" + "0" * 18, "fix:١", "fix:1 ", "pick:1:joy",
                   "pick:1:Calm", "pick:0:calm", "pick:1:calm:2", "pick::calm", "mood:joy", "mood:",
                   "mood:calm\n", "mood:" + "calm" * 100):
        assert keyboards.parse_fix(forged) is None and keyboards.parse_pick(forged) is None
        assert keyboards.parse_mood(forged) is None, forged


def test_help_lists_the_commands_and_its_details_the_mapping_and_privacy():
    text = texts.help_text(EN, "mood_bot")
    for name, _ in texts.commands(EN):
        assert f"/{name}" in text
    how = texts.help_section(EN, "how")
    for emotion, mood in EMOTION_TO_MOOD.items():
        assert f"{emotion} → " in how and mood in how
    assert "never stored" in texts.help_section(EN, "privacy")
    assert "@mood_bot" in texts.help_section(EN, "extras", "mood_bot")


def test_group_buttons_name_their_owner_and_private_ones_do_not():
    owned = keyboards.song_keyboard(EN, "u", "energetic", 99, 123456789012345678, owner=9_999_999_999)
    data = [b.callback_data for row in owned.inline_keyboard for b in row if b.callback_data]
    assert data == ["more:energetic:99@9999999999", "fix:123456789012345678@9999999999"]
    assert all(len(d.encode()) <= 64 for d in data)
    assert keyboards.split_owner(data[1]) == ("fix:123456789012345678", 9_999_999_999)
    assert keyboards.split_owner("fix:12") == ("fix:12", None)
    for forged in ("fix:12@", "fix:12@0", "fix:12@-5", "fix:12@1@2"):
        assert keyboards.parse_fix(keyboards.split_owner(forged)[0]) is None, forged


def test_song_text_is_html_escaped():
    song = Song(track_id="abc", name="Rock & <Roll>", artist="A<B>", mood="happy")
    pick = Pick(song, "happy", restarted=False, lift_step=None)
    reply = texts.analysis_reply(EN, emotion="happy", confidence=0.834, mood="happy", n_faces=3, pick=pick)
    assert "Rock &amp; &lt;Roll&gt;" in reply and "A&lt;B&gt;" in reply
    assert "83%" in reply and "3 faces" in reply and '<a href="https://open.spotify.com/track/abc">' in reply


def test_the_reply_says_what_the_face_showed_and_what_the_music_does_without_contradiction():
    def reply(emotion, mood, adapted=False):
        return texts.analysis_reply(EN, emotion=emotion, confidence=0.72, mood=mood, n_faces=1, pick=None,
                                    adapted=adapted).splitlines()[0]

    assert reply("neutral", "happy") == (
        "😐 You look <b>neutral</b> — let's start with something ☀️ <b>happy</b> (72% sure).")
    assert reply("angry", "calm") == "😠 You look <b>tense</b> — here's something 🌊 <b>calm</b> for that (72% sure)."
    assert reply("happy", "happy") == (
        "😄 You look <b>happy</b> — here's something ☀️ <b>happy</b> to keep it going (72% sure).")
    assert "going by your past picks" in reply("sad", "happy", adapted=True)
    assert "Mood:" not in reply("neutral", "happy")


def test_log_lines_redact_secrets_even_in_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", [TOKEN]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/getUpdates")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out and out.count("<redacted>") >= 2


def test_user_tags_are_stable_pseudonyms():
    key = b"k" * 32
    assert user_tag(42, key) == user_tag(42, key) != user_tag(43, key)
    assert len(user_tag(42, key)) == 12 and int(user_tag(42, key), 16) >= 0
    assert user_tag(42, key) != user_tag(42, b"other-key")


async def test_rate_limiter_retries_network_errors_but_not_final_ones():
    from telegram.error import BadRequest, Forbidden, NetworkError

    from bot.app import MessageRateLimiter

    limiter = MessageRateLimiter()
    await limiter.initialize()
    calls: list[str] = []

    def failing(error: Exception, times: int):
        async def call(name: str):
            calls.append(name)
            if calls.count(name) <= times:
                raise error
            return True
        return call

    try:
        for error in (BadRequest("Bad Request: message text is empty"), Forbidden("blocked")):
            with pytest.raises(type(error)):
                await limiter.process_request(failing(error, 1), ("final",), {}, "sendMessage", {"chat_id": 1}, None)
            assert calls == ["final"]
            calls.clear()
        with pytest.raises(NetworkError):  # cosmetic: one try only
            await limiter.process_request(failing(NetworkError("x"), 1), ("action",), {}, "sendChatAction",
                                          {"chat_id": 1}, None)
        assert await limiter.process_request(failing(NetworkError("Bad Gateway"), 1), ("send",), {},
                                             "sendMessage", {"chat_id": 1}, None) is True
        assert calls == ["action", "send", "send"]
    finally:
        await limiter.shutdown()


def test_floods_are_counted_per_kind():
    now = [0.0]
    floods = Floods(photos_per_minute=1, texts_per_minute=2, presses_per_minute=1, clock=lambda: now[0])
    assert floods.check("photo", 1) is Verdict.ALLOW and floods.check("photo", 1) is Verdict.WARN
    assert [floods.check("text", 1) for _ in range(3)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.WARN]
    assert floods.check("press", 1) is Verdict.ALLOW and floods.limit("text") == 2


async def test_chat_actions_bypass_the_message_rate_limit():
    import asyncio

    from bot.app import MessageRateLimiter

    limiter = MessageRateLimiter(overall_max_rate=1, overall_time_period=60)
    await limiter.initialize()
    calls: list[str] = []

    async def call(name: str):
        calls.append(name)
        return True

    def request(endpoint: str):
        return limiter.process_request(call, (endpoint,), {}, endpoint, {"chat_id": 1}, None)

    await request("sendMessage")
    blocked = asyncio.create_task(request("sendMessage"))  # over the 1-per-minute budget: waits
    await asyncio.wait_for(request("sendChatAction"), 5)  # not counted: goes straight through
    assert calls == ["sendMessage", "sendChatAction"] and not blocked.done()
    blocked.cancel()
    await limiter.shutdown()
