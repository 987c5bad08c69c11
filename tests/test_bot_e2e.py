"""The real bot, driven through the loopback Bot API: what a user sees, with the real pipeline."""
from __future__ import annotations

import math
import re

from bot_harness import (
    FIXTURE_CATALOG,
    SONGS_PER_MOOD,
    bot_config,
    encode,
    astronaut,
    group_photo_jpeg,
    huge_jpeg,
    running_bot,
    selfie_jpeg,
)
from bot import texts
from bot.i18n import Languages
from bot.services import KEY
from recommender.music.catalog import Catalog
from recommender.store.sqlite import SQLiteHistoryStore
from recommender.music.lift import GOAL, LIFT_STEPS
from recommender.paths import CATALOG_PATH
from recommender.mood import EMOTION_TO_MOOD
from recommender.types import EMOTIONS, MOODS
from store_commits import counting_commits

LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
CATALOG = Catalog.load(FIXTURE_CATALOG)
EN = Languages.load().english.tr


def track_of(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no song link in {text!r}"
    return match.group(1)


def emotion_and_mood(text: str) -> tuple[str, str]:
    """The emotion the reply names (by its "You look …" words) and the music mood after " — "."""
    emotion = next((e for e in EMOTIONS if texts.looks(EN, e) in text), None)
    mood = re.search(r" — [^<]*\S+ <b>(\w+)</b>[^<]* \((\d+)% sure\)", text)
    assert emotion and mood, text
    return emotion, mood.group(1)


async def test_start_help_and_command_menu(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(101)
        await user.send_text("/start")
        start = await user.reply()
        assert "selfie" in start.text.lower()
        await user.send_text("/help")
        help_ = await user.reply()
        assert "/forget" in help_.text and "Not my mood" in help_.text and "/diary" in help_.text
        await user.press(help_)  # the first detail: how it works, edited in
        how = await fake.wait_for(lambda: fake.sent_to(101, "editMessageText"))
        for emotion, mood in EMOTION_TO_MOOD.items():
            assert f"{emotion} → " in how[0].text and mood in how[0].text
        await user.send_text("what do I do?")
        assert "selfie" in (await user.reply()).text.lower()
        await fake.wait_for(lambda: fake.commands)
        assert {c["command"] for c in fake.commands} == {
            "start", "help", "mood", "history", "diary", "checkin", "lift", "settings", "language", "forget"}


async def test_selfie_gets_emotion_song_link_and_more_button(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, TYPING_AFTER_S="0"), pipeline):
        user = fake.user(102)
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        emotion, mood = emotion_and_mood(reply.text)
        assert emotion in EMOTIONS and mood == EMOTION_TO_MOOD[emotion]
        song = CATALOG.get(track_of(reply.text))
        assert song is not None and song.mood == mood
        assert f"{song.name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}" in reply.text
        assert reply.buttons[0] == {"text": "🎵 More", "callback_data": f"more:{mood}"}
        assert reply.buttons[1]["text"] == "🎭 Not my mood" and len(reply.buttons) == 4
        assert reply.buttons[2] == {"text": "🎧 Open in Spotify", "url": song.url}
        assert reply.buttons[3]["text"] == "📤 Share"
        assert reply.link_preview == {"is_disabled": False, "url": song.url}
        actions = fake.sent_to(102, "sendChatAction")
        assert actions and actions[0].params["action"] == "typing"


async def test_a_quick_answer_comes_without_typing(fake, pipeline, tmp_path):
    """"typing…" is for a slow answer (TYPING_AFTER_S): one that comes first sends no chat action."""
    async with running_bot(bot_config(fake, tmp_path, TYPING_AFTER_S="30"), pipeline):
        user = fake.user(108)
        await user.send_photo(selfie_jpeg(), 512, 512)
        assert track_of((await user.reply()).text)
        await user.send_text("/help")  # handled after the photo's update has finished
        await user.reply()
        assert fake.sent_to(108, "sendChatAction") == []


async def test_replies_keep_to_the_messages_per_second_limit(fake, pipeline, tmp_path):
    """Telegram's overall limit (MESSAGES_PER_SECOND, default its ~30/s): at 1 a second, three
    people's replies are spread over at least two seconds, and none is lost."""
    async with running_bot(bot_config(fake, tmp_path, MESSAGES_PER_SECOND="1"), pipeline):
        users = [fake.user(120 + i) for i in range(3)]
        for user in users:
            await user.send_photo(selfie_jpeg(), 512, 512)
        replies = sorted([await user.reply() for user in users], key=lambda r: r.at)
        assert all(track_of(r.text) for r in replies)
        assert replies[2].at - replies[0].at >= 1.8


async def test_a_selfie_stores_its_reading_and_song_in_one_commit_before_the_reply(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline) as app:
        store = app.bot_data[KEY].store
        user = fake.user(106)
        async with counting_commits(store, at_commit=lambda: len(fake.sent_to(106))) as commits:
            await user.send_photo(selfie_jpeg(), 512, 512)
            reply = await user.reply()
        _, mood = emotion_and_mood(reply.text)
        fix = re.fullmatch(r"fix:(\d+)", reply.buttons[1]["callback_data"])
        assert fix, reply.buttons
        reading = await store.reading(106, int(fix.group(1)))  # what "Not my mood" will correct
        assert reading is not None and (reading.source, reading.mood) == ("selfie", mood) and reading.scores
        assert [s.track_id for s in await store.served(106)] == [track_of(reply.text)]
        photo = commits.touching("readings", "served")  # a heartbeat may commit beside it
        assert len(photo) == 1, commits.transactions
        assert [s.split()[2] for s in photo[0] if s.startswith("INSERT")] == ["readings", "served"]
        assert commits.seen_at_commit[commits.transactions.index(photo[0])] == 0  # before the reply


async def test_ten_more_presses_then_exhausted_then_start_over(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(103)
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        _, mood = emotion_and_mood(reply.text)
        served = [track_of(reply.text)]
        message_ids = {reply.message_id}
        for _ in range(SONGS_PER_MOOD - 1):  # ten "More" and one more: the whole mood
            await user.press(reply)
            reply = await user.reply()
            served.append(track_of(reply.text))
            message_ids.add(reply.message_id)
            assert reply.buttons[0]["text"] == "🎵 More"
        assert len(set(served[:11])) == 11, "ten More presses gave a repeat"
        assert sorted(served) == sorted(s.track_id for s in CATALOG.songs(mood))
        assert len(message_ids) == SONGS_PER_MOOD  # each song is a new message
        # Each press is answered once, after its song is sent (which stops the spinner).
        await fake.wait_for(lambda: sum(1 for s in fake.sent if s.method == "answerCallbackQuery")
                            == SONGS_PER_MOOD - 1)
        assert fake.calls.count("answerCallbackQuery") == SONGS_PER_MOOD - 1  # none twice
        # The mood is exhausted: say so, and start over with the longest-unheard song.
        await user.press(reply)
        again = await user.reply()
        assert "heard all" in again.text and track_of(again.text) == served[0]


async def test_history_survives_a_restart_and_old_buttons_work(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(104)
        await user.send_photo(selfie_jpeg(), 512, 512)
        first = await user.reply()
        served = [track_of(first.text)]
        reply = first
        for _ in range(3):
            await user.press(reply)
            reply = await user.reply()
            served.append(track_of(reply.text))
    async with running_bot(config, pipeline):  # a new process would see the same file
        await user.press(reply)  # the newest song's More, from before the restart
        after = await user.reply()
        assert track_of(after.text) not in served
        assert len(set(served)) == 4


async def test_forget_empties_history(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path)
    async with running_bot(config, pipeline):
        user = fake.user(105)
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        await user.press(reply)
        await user.reply()
        other = fake.user(106)
        await other.press(reply)
        await other.reply()
        await user.send_text("/forget")
        assert "forgot the 2 songs" in (await user.reply()).text
        await user.send_text("/forget")
        assert "nothing stored" in (await user.reply()).text
    store = await SQLiteHistoryStore.open(config.database_path)
    try:
        assert await store.count(105) == 0 and await store.count(106) == 1
    finally:
        await store.close()


async def test_compressed_photo_downloads_the_working_size_not_the_original(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(111)
        photo = await user.send_photo(selfie_jpeg(), 1280, 1280, original=huge_jpeg())
        assert LINK.search((await user.reply()).text)
        assert fake.downloads == [photo["message"]["photo"][1]["file_id"]]


async def test_image_files_png_webp_and_a_4000px_photo(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(107)
        await user.send_document(encode(astronaut(), "PNG"), "me.png", "image/png")
        assert LINK.search((await user.reply()).text)
        await user.send_document(encode(astronaut(), "WEBP", quality=90), "me.webp", "image/webp")
        assert LINK.search((await user.reply()).text)
        await user.send_document(huge_jpeg(), "big.jpg", "image/jpeg")
        reply = await user.reply(timeout=30)
        emotion, mood = emotion_and_mood(reply.text)
        assert mood in MOODS and LINK.search(reply.text)


async def test_several_faces_answers_for_the_largest_and_counts_them(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(108)
        await user.send_photo(group_photo_jpeg(), 760, 440)
        reply = await user.reply()
        assert "I see 2 faces" in reply.text and "largest" in reply.text
        assert LINK.search(reply.text)


async def test_one_users_updates_stay_in_order_and_others_are_not_blocked(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        slow, quick = fake.user(109), fake.user(110)
        await slow.send_document(huge_jpeg(), "big.jpg", "image/jpeg")
        await slow.send_text("/help")
        await quick.send_text("/start")
        # The other user is answered while the big photo is still being analysed
        # (the event loop is free: the analysis runs in the worker pool) ...
        await quick.reply()
        first = await slow.reply(timeout=30)
        # ... and one user's replies come in the order the messages were sent.
        second = await slow.reply()
        assert LINK.search(first.text) and "How to use me" in second.text
        quick_at = fake.sent_to(110)[0].at
        assert quick_at < first.at


async def test_lift_mode_rises_step_by_step_and_toggles_off(fake, pipeline, tmp_path):
    # The shipped catalog: lift needs a catalog large enough to have songs near each step's target.
    catalog = Catalog.load(CATALOG_PATH)
    config = bot_config(fake, tmp_path, CATALOG_PATH=str(CATALOG_PATH))
    async with running_bot(config, pipeline, catalog):
        user = fake.user(112)
        await user.send_text("/lift")
        assert "Lift mode is <b>on</b>" in (await user.reply()).text
        await user.send_photo(selfie_jpeg(), 512, 512)
        reply = await user.reply()
        _, mood = emotion_and_mood(reply.text)
        assert "Lift mode" in reply.text and reply.buttons[0]["callback_data"] == f"more:{mood}:0"
        songs = [catalog.get(track_of(reply.text))]
        for step in range(1, LIFT_STEPS + 1):
            await user.press(reply)
            reply = await user.reply()
            assert f"Lifting, step {step}" in reply.text
            assert reply.buttons[0]["callback_data"] == f"more:{mood}:{step}"
            songs.append(catalog.get(track_of(reply.text)))
        assert len({s.track_id for s in songs}) == len(songs)
        assert songs[0].mood == mood  # step 0 meets the listener where they are

        def distance_to_goal(song):
            return math.hypot(song.valence - GOAL[0], song.energy - GOAL[1])

        assert distance_to_goal(songs[-1]) < 0.2
        assert distance_to_goal(songs[-1]) <= distance_to_goal(songs[0])
        await user.send_text("/lift")
        assert "Lift mode is <b>off</b>" in (await user.reply()).text
        await user.press(reply)  # a lift button, pressed after lift was turned off
        plain = await user.reply()
        assert "Another" in plain.text and plain.buttons[0]["callback_data"] == f"more:{mood}"
        assert catalog.get(track_of(plain.text)).mood == mood
    store = await SQLiteHistoryStore.open(config.database_path)
    try:
        assert not await store.get_lift(112) and await store.count(112) == LIFT_STEPS + 2
    finally:
        await store.close()


async def test_spotify_enrichment_adds_the_album_and_falls_back_silently(fake, pipeline, tmp_path):
    from fake_spotify import CLIENT_ID, CLIENT_SECRET, FakeSpotify

    with FakeSpotify() as spotify:
        for mood in CATALOG.moods:
            for song in CATALOG.songs(mood):
                spotify.add_track(song.track_id, song.name, song.artist, album=f"Album of {song.name}",
                                  preview=f"https://p.scdn.co/mp3-preview/{song.track_id}")
        settings = spotify.settings()
        config = bot_config(fake, tmp_path, SPOTIPY_CLIENT_ID=CLIENT_ID, SPOTIPY_CLIENT_SECRET=CLIENT_SECRET,
                            SPOTIFY_API_URL=settings.api_url, SPOTIFY_TOKEN_URL=settings.token_url)
        async with running_bot(config, pipeline):
            user = fake.user(113)
            await user.send_photo(selfie_jpeg(), 512, 512)
            reply = await user.reply()
            song = CATALOG.get(track_of(reply.text))
            assert "💿 Album of" in reply.text and f"mp3-preview/{song.track_id}" in reply.text
            assert reply.link_preview == {"is_disabled": False, "url": song.url}  # still the cover
            spotify.tracks.clear()  # Spotify now fails (404): the song still comes, without album
            await user.press(reply)
            plain = await user.reply()
            assert LINK.search(plain.text) and "💿" not in plain.text
