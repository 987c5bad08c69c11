"""The conversation people expect, through the loopback Bot API with the real bot and models:
fixing a wrong mood in one tap, the unsure reply, adaptation per person, moods without a selfie,
/history and /diary, and /forget wiping all of it."""
from __future__ import annotations

import asyncio
import io
import re

from PIL import Image

from bot_harness import FIXTURE_CATALOG, bot_config, running_bot, selfie_jpeg
from recommender.music.catalog import Catalog
from recommender.store.sqlite import SQLiteHistoryStore
from bot import texts
from bot.i18n import Languages
from recommender.decision import decide
from recommender.types import MOODS
from recommender.vision.calibration import shipped
from shared_data import require

LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
CATALOG = Catalog.load(FIXTURE_CATALOG)
EN = Languages.load().english.tr


def mood_of_song(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no song link in {text!r}"
    song = CATALOG.get(match.group(1))
    assert song is not None
    return song.mood


def photo(name: str) -> bytes:
    return (require("photos") / name).read_bytes()


# An angry face the face models read between energetic (50 %) and calm (47 %): it should ask, not
# guess, and one correction toward calm tips it (surprise_004 served till the int8 HSEmotion:
# calm 46 % / sad 30 % now, too far apart for one correction).
UNSURE_FACE = "angry_002.jpg"


async def open_history(config) -> SQLiteHistoryStore:
    return await SQLiteHistoryStore.open(config.database_path)


def answers(fake) -> list:
    return [s for s in fake.sent if s.method == "answerCallbackQuery"]


def outside_links(text: str) -> str:
    """The text a reader sees as text: link targets (href) left out."""
    return re.sub(r'href="[^"]*"', "", text)


async def test_not_my_mood_opens_four_moods_in_place_and_serves_the_chosen_mood(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(201)
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        assert "You look <b>happy</b> — here's something ☀️ <b>happy</b>" in reply.text
        assert mood_of_song(reply.text) == "happy"
        # One number: how sure of the mood it acted on, not of the emotion.
        seen = shipped().read(pipeline.analyze(selfie_jpeg()).faces[0].scores.probs)
        mood_sure = round(decide(seen, shipped().unsure_below).confidence * 100)
        assert mood_sure == round(seen.mood_probs[MOODS.index("happy")] * 100) and f"({mood_sure}% sure)" in reply.text
        assert reply.text.count("%") == 1
        # The song is a link and a button, never a raw URL in the text.
        assert "open.spotify.com" not in outside_links(reply.text)
        song_url = f"https://open.spotify.com/track/{LINK.search(reply.text).group(1)}"
        assert [b["text"] for b in reply.buttons] == ["🎵 More", "🎭 Not my mood", "🎧 Open in Spotify", "📤 Share"]
        assert reply.buttons[2]["url"] == song_url and reply.link_preview == {"is_disabled": False, "url": song_url}
        fix = reply.buttons[1]
        await user.press(reply, data=fix["callback_data"])
        edit = await fake.wait_for(lambda: fake.sent_to(201, "editMessageReplyMarkup"))
        assert not user.unread()  # the keyboard was edited, no new message
        assert int(edit[0].params["message_id"]) == reply.message_id
        moods = {b["text"].split()[-1]: b.get("callback_data") for b in edit[0].buttons}
        assert set(moods) == set(MOODS) | {"Spotify", "Share"}  # the song's link and share stay
        await user.press(reply, data=moods["calm"])
        song = await user.reply()
        assert song.text.startswith("Got it — 🌊 <b>calm</b>") and mood_of_song(song.text) == "calm"
        assert [b["text"] for b in song.buttons] == ["🎵 More", "🎧 Open in Spotify", "📤 Share"]
        # The answered picker shows the choice and keeps only the song's link and share.
        closed = await fake.wait_for(lambda: fake.sent_to(201, "editMessageText"))
        assert int(closed[0].params["message_id"]) == reply.message_id
        assert closed[0].text.endswith("✅ Your pick: 🌊 calm") and "You look <b>happy</b>" in closed[0].text
        assert [b["text"] for b in closed[0].buttons] == ["🎧 Open in Spotify", "📤 Share"]
        await user.press(reply, data=moods["sad"])  # scrolled back: the picker is gone
        await fake.wait_for(lambda: len(answers(fake)) == 3)
        assert answers(fake)[-1].params.get("show_alert") and "already been used" in answers(fake)[-1].text
        assert not user.unread()
    store = await open_history(config)  # stored once: the detected scores and the chosen mood
    try:
        stats = await store.field_stats()
        assert stats.selfies == 1 and stats.choices == {("happy", "calm"): 1}
        reading = await store.reading(201, int(fix["callback_data"].split(":")[1]))
        assert reading is not None and len(reading.scores) == 7 and abs(sum(reading.scores) - 1) < 0.01
    finally:
        await store.close()
    async with running_bot(config, pipeline):  # the song's buttons keep working after a restart
        await user.press(song)
        assert mood_of_song((await user.reply()).text) == "calm"


async def test_a_double_tap_on_a_mood_serves_one_song_and_counts_once(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(214)
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        await user.press(reply, data=reply.buttons[1]["callback_data"])
        picker = await fake.wait_for(lambda: fake.sent_to(214, "editMessageReplyMarkup"))
        calm = next(b["callback_data"] for b in picker[0].buttons if b.get("callback_data", "").endswith(":calm"))
        # Both taps arrive before the picker closes: Telegram sends each with the picker in it.
        await asyncio.gather(user.press(reply, data=calm), user.press(reply, data=calm))
        await fake.wait_for(lambda: len(answers(fake)) == 3)
        assert len([s for s in fake.sent_to(214) if "Got it" in s.text]) == 1
        assert any("already picked 🌊 calm" in a.text for a in answers(fake)[-2:])
    store = await open_history(config)
    try:
        assert await store.chosen_counts(214) == {"calm": 1}
    finally:
        await store.close()


async def test_unsure_reply_offers_two_moods_and_other_and_adapts_to_the_person(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user, stranger = fake.user(202), fake.user(203)
        await user.send_photo(photo(UNSURE_FACE))
        unsure = await user.reply()
        seen = shipped().read(pipeline.analyze(photo(UNSURE_FACE)).faces[0].scores.probs)
        plain = decide(seen, shipped().unsure_below)
        best, runner_up = plain.offered
        assert plain.asks and best == plain.mood
        # The best guess is named first and offered first; no number at all.
        assert f"best guess is {texts.mood_label(EN, best).split()[0]} <b>{best}</b>" in unsure.text
        assert f"<b>{runner_up}</b> — which is closer?" in unsure.text and "%" not in unsure.text
        assert not LINK.search(unsure.text)  # asks instead of guessing
        assert [b["text"] for b in unsure.buttons] == [texts.mood_label(EN, m) for m in plain.offered] + ["Other…"]
        await user.press(unsure, data=unsure.buttons[2]["callback_data"])  # Other…: all four, in place
        four = await fake.wait_for(lambda: fake.sent_to(202, "editMessageReplyMarkup"))
        offered = {b["text"].split()[-1]: b["callback_data"] for b in four[0].buttons}
        assert set(offered) == set(MOODS)
        await user.press(unsure, data=offered[runner_up])
        chosen = await user.reply()
        label = texts.mood_label(EN, runner_up)
        assert chosen.text.startswith(f"Got it — {label.split()[0]} <b>{runner_up}</b>")
        assert mood_of_song(chosen.text) == runner_up
        closed = await fake.wait_for(lambda: fake.sent_to(202, "editMessageText"))
        assert closed[0].text.endswith(f"✅ Your pick: {label}") and not closed[0].buttons
        # The same face again: this person chose the runner-up, and the tilt makes it the best guess.
        tilted = decide(seen, shipped().unsure_below, {runner_up: 1})
        assert tilted.mood == runner_up
        await user.send_photo(photo(UNSURE_FACE))
        adapted = await user.reply()
        if tilted.asks:
            assert f"best guess is {label.split()[0]} <b>{runner_up}</b>" in adapted.text
        else:
            assert f"going by your past picks, here's something {label.split()[0]} <b>{runner_up}</b> (" in adapted.text
        # Per person: someone else with the same face is still asked.
        await stranger.send_photo(photo(UNSURE_FACE))
        assert "best guess" in (await stranger.reply()).text
        # /forget resets the adaptation and makes the old buttons stale.
        await user.send_text("/forget")
        assert "forgot" in (await user.reply()).text
        await user.send_photo(photo(UNSURE_FACE))
        again = await user.reply()
        assert "best guess" in again.text
        await user.press(data=offered[runner_up])  # an old picker's button, scrolled back to
        alert = await fake.wait_for(lambda: [s for s in answers(fake) if s.params.get("show_alert")])
        assert "remember" in alert[-1].text
        assert not user.unread()
    store = await open_history(config)
    try:
        assert await store.chosen_counts(202) == {}
        assert (await store.field_stats()).choices == {}
    finally:
        await store.close()


async def test_the_cli_prints_what_the_bot_says_for_the_same_photo(fake, pipeline, tmp_path):
    """`python -m recommender --json` and the bot: the same emotion, mood, number and decision,
    and when asking, the same two moods offered."""
    import json
    import subprocess
    import sys

    from recommender.paths import PROJECT_ROOT

    # The dev photo is read where it lies (never copied); the selfie is scikit-image's public
    # astronaut picture, which exists only in memory until the CLI needs it as a file.
    selfie = tmp_path / "selfie.jpg"
    selfie.write_bytes(selfie_jpeg())
    unsure = require("photos") / UNSURE_FACE
    photos = {"selfie.jpg": selfie.read_bytes(), UNSURE_FACE: unsure.read_bytes()}
    proc = subprocess.run([sys.executable, "-m", "recommender", "--json", str(selfie), str(unsure)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    cli = {json.loads(line)["file"].rsplit("/", 1)[-1]: json.loads(line) for line in proc.stdout.splitlines()}
    assert cli["selfie.jpg"]["decision"] == "answer" and cli[UNSURE_FACE]["decision"] == "ask"
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(210)
        await user.send_photo(photos["selfie.jpg"], 512, 512)
        answer = await user.reply()
        rec = cli["selfie.jpg"]
        label = texts.mood_label(EN, rec["mood"])
        assert f"You look <b>{rec['emotion']}</b>" in answer.text
        assert f"{label.split()[0]} <b>{rec['mood']}</b>" in answer.text
        assert f"({round(rec['confidence'] * 100)}% sure)" in answer.text
        assert rec["model"] == pipeline.model_name and "hsemotion" in rec["model"]
        await user.send_photo(photos[UNSURE_FACE])
        asked = await user.reply()
        offered = cli[UNSURE_FACE]["offered"]
        assert [b["text"] for b in asked.buttons[:2]] == [texts.mood_label(EN, m) for m in offered]
        probs = cli[UNSURE_FACE]["mood_probs"]
        assert max(probs, key=probs.get) in offered


async def test_mood_without_a_selfie(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(204)
        await user.send_text("/mood")
        menu = await user.reply()
        buttons = {b["text"].split()[-1]: b["callback_data"] for b in menu.buttons}
        assert set(buttons) == set(MOODS)
        await user.press(menu, data=buttons["energetic"])
        assert mood_of_song((await user.reply()).text) == "energetic"
        for text, mood in (("need to calm down", "calm"), ("😢", "sad"), ("I feel great", "happy"),
                           ("energetic", "energetic")):
            await user.send_text(text)
            reply = await user.reply()
            assert f"Sounds like: <b>{mood}</b>" in reply.text and mood_of_song(reply.text) == mood
            assert reply.buttons[0]["text"] == "🎵 More"
        await user.send_text("what's the weather like?")
        hint = await user.reply()
        assert "selfie" in hint.text and not LINK.search(hint.text)
        await user.send_text("sad " * 1024)  # 4,096 characters
        assert mood_of_song((await user.reply()).text) == "sad"


async def test_history_lists_the_last_ten_songs_without_previews(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(205)
        await user.send_text("/history")
        assert "haven't served" in (await user.reply()).text
        await user.send_text("I feel great")
        reply = await user.reply()
        titles = [CATALOG.get(LINK.search(reply.text).group(1)).name]
        for _ in range(11):
            await user.press(reply)
            reply = await user.reply()
            titles.append(CATALOG.get(LINK.search(reply.text).group(1)).name)
        await user.send_text("/history")
        history = await user.reply()
        assert history.link_preview == {"is_disabled": True}
        lines = [ln for ln in history.text.splitlines() if re.match(r"\d+\. ", ln)]
        assert len(lines) == 10 and len(LINK.findall(history.text)) == 10
        assert titles[-1].replace("&", "&amp;") in lines[0] and "happy" in lines[0] and "UTC" in lines[0]
        assert all(t.replace("&", "&amp;") not in history.text for t in titles[:2])  # the two oldest


async def test_diary_is_a_png_for_a_user_with_history_and_a_text_without(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline) as app:
        newcomer, user = fake.user(206), fake.user(207)
        await newcomer.send_text("/diary")
        empty = await newcomer.reply()
        assert "empty" in empty.text and not fake.sent_to(206, "sendPhoto")
        await user.send_photo(selfie_jpeg(), 512, 512)
        await user.reply()
        await user.send_text("need to calm down")
        await user.reply()
        await user.send_text("/diary")
        sent = await fake.wait_for(lambda: fake.sent_to(207, "sendPhoto"))
        png = sent[0].photo
        assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(png) < 500_000
        with Image.open(io.BytesIO(png)) as im:
            im.load()
            assert im.size[0] == 1080  # a phone's width
        caption = str(sent[0].params["caption"])
        assert caption.startswith("Your last 30 days: 2 check-ins") and "happy 50%" in caption and "calm 50%" in caption
        assert not list(tmp_path.rglob("*.png"))  # in memory, never on disk


async def test_forged_and_stale_mood_buttons_get_the_stale_alert(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(208)
        forged = ["fix:0", "fix:abc", "fix:" + "9" * 40, "pick:1:angry", "pick:1:calm:x", "mood:joy",
                  "mood:" + "a" * 60, "pick:99999:calm", "fix:99999", "pick:-1:calm", "mood:CALM"]
        for data in forged:
            await user.press(data=data)
        await fake.wait_for(lambda: sum(1 for s in fake.sent if s.method == "answerCallbackQuery")
                            == len(forged))
        answers = [s for s in fake.sent if s.method == "answerCallbackQuery"]
        assert all(a.params.get("show_alert") for a in answers)
        assert not user.unread() and not fake.sent_to(208, "editMessageReplyMarkup")


async def test_someone_elses_reading_cannot_be_corrected(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        owner, other = fake.user(209), fake.user(210)
        await owner.send_photo(selfie_jpeg(), 512, 512)
        reply = await owner.reply()
        reading = reply.buttons[1]["callback_data"].split(":")[1]
        await other.press(data=f"pick:{reading}:sad")
        await other.press(data=f"fix:{reading}")
        await fake.wait_for(lambda: sum(1 for s in fake.sent if s.method == "answerCallbackQuery") == 2)
        assert not other.unread() and not fake.sent_to(210, "editMessageReplyMarkup")
    store = await open_history(config)
    try:
        assert (await store.field_stats()).choices == {}
    finally:
        await store.close()


async def test_a_hundred_presses_in_a_second_are_each_answered_once_and_serve_one_song(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path, PRESSES_PER_MINUTE="5")
    async with running_bot(config, pipeline):
        user = fake.user(211)
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        await asyncio.gather(*(user.press(reply) for _ in range(100)))  # More, a hundred times
        await fake.wait_for(lambda: len(fake.answered_queries) == 100)
        # Each press answered exactly once (no spinner left): the song, "already sent", the one
        # flood notice, then empty answers; one song, and the pressed message lost its More.
        assert fake.calls.count("answerCallbackQuery") == 100
        assert len([s for s in fake.sent_to(211) if "Another" in s.text]) == 1
        notices = [s for s in answers(fake) if "lot of songs" in s.text]
        assert len(notices) == 1 and notices[0].params.get("show_alert")
        assert len([s for s in answers(fake) if "Already sent" in s.text]) == 4
        await fake.wait_for(lambda: fake.sent_to(211, "editMessageReplyMarkup"))
        assert [b["text"] for b in fake.sent_to(211, "editMessageReplyMarkup")[0].buttons] == [
            "🎭 Not my mood", "🎧 Open in Spotify", "📤 Share"]
    store = await open_history(config)
    try:
        assert len(await store.recent_songs(211, 100)) == 2  # the selfie's song and one more
    finally:
        await store.close()


async def test_diary_with_a_damaged_history_still_answers(fake, pipeline, tmp_path):
    import sqlite3

    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(212)
        await user.send_text("I feel great")
        await user.reply()
    with sqlite3.connect(config.database_path) as db:  # rows no bot version writes
        db.execute("INSERT INTO readings (user_id, at, source, mood, scores) VALUES (212, 1e12, 'selfie', 'joy', 'x')")
        db.execute("INSERT INTO readings (user_id, at, source, mood) VALUES (212, -5, 'odd', 'sad')")
    async with running_bot(config, pipeline):
        await user.send_text("/diary")
        sent = await fake.wait_for(lambda: fake.sent_to(212, "sendPhoto"))
        assert str(sent[0].params["caption"]).startswith("Your last 30 days: 1 check-in — happy 100%")
        with Image.open(io.BytesIO(sent[0].photo)) as im:
            im.load()


async def test_history_and_diary_stay_out_of_groups(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(213)
        await user.send_text("I feel great")
        await user.reply()
        member = fake.user(213, chat_id=-100213, chat_type="group")
        for command in ("/history", "/diary"):
            await member.send_text(command)
            answer = await member.reply()
            assert "private chat" in answer.text and not LINK.search(answer.text)
        assert not fake.sent_to(-100213, "sendPhoto")
