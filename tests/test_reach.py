"""Beyond one chat (issue 27), through the loopback Bot API with the real bot: inline mode, the
Share button, deep links and a group's mood."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

from bot import texts
from bot.i18n import Languages
from bot_harness import FIXTURE_CATALOG, bot_config, encode, running_bot, selfie_jpeg
from recommender.music.catalog import Catalog
from recommender.types import MOODS
from shared_data import require

LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
CATALOG = Catalog.load(FIXTURE_CATALOG)
LANGUAGES = Languages.load()
EN = LANGUAGES.english.tr
MOOD_WORDS = re.compile(r"calm|happy|energetic|sad", re.IGNORECASE)


def song_of(text: str):
    match = LINK.search(text)
    assert match, f"no song link in {text!r}"
    return CATALOG.get(match.group(1))


def result_songs(answer) -> list:
    return [song_of(r["input_message_content"]["message_text"]) for r in answer.params["results"]]


def share_button(message) -> dict:
    shares = [b for b in message.buttons if b.get("url", "").startswith("https://t.me/share/url?")]
    assert len(shares) == 1, message.buttons
    return parse_qs(urlsplit(shares[0]["url"]).query)


# --- inline mode -------------------------------------------------------------------------------

async def test_inline_lists_the_users_next_songs_of_a_mood_without_repeats(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(401)
        await user.send_text("calm")  # a calm song served in the private chat
        heard = song_of((await user.reply()).text)
        answer = await user.inline("calm")
        songs = result_songs(answer)
        assert len(songs) == 5 and all(s.mood == "calm" for s in songs)
        assert heard not in songs and len(set(songs)) == 5  # nothing they heard, nothing twice
        assert answer.params["is_personal"] is True and 0 < answer.params["cache_time"] <= 300
        first = answer.params["results"][0]
        assert first["reply_markup"]["inline_keyboard"][0][0] == {"text": texts.open_in_spotify_button(EN),
                                                                  "url": songs[0].url}
        # Posting a result (inline feedback on) puts it in the history: the next listing moves on.
        await user.choose(first["id"], "calm")
        again = result_songs(await user.inline("calm"))
        assert songs[0] not in again and again[:4] == songs[1:]


async def test_inline_results_carry_spotify_covers_when_configured(fake, pipeline, tmp_path):
    from fake_spotify import CLIENT_ID, CLIENT_SECRET, FakeSpotify

    with FakeSpotify() as spotify:
        for song in CATALOG.songs("sad"):
            spotify.add_track(song.track_id, song.name, song.artist)
        settings = spotify.settings()
        config = bot_config(fake, tmp_path, SPOTIPY_CLIENT_ID=CLIENT_ID, SPOTIPY_CLIENT_SECRET=CLIENT_SECRET,
                            SPOTIFY_API_URL=settings.api_url, SPOTIFY_TOKEN_URL=settings.token_url)
        async with running_bot(config, pipeline):
            answer = await fake.user(413).inline("sad")
            covers = [(r.get("thumbnail_url"), song.track_id) for r, song in
                      zip(answer.params["results"], result_songs(answer))]
            assert covers and all(url == f"https://i.scdn.co/image/{tid}" for url, tid in covers)
            happy = await fake.user(413).inline("happy")  # Spotify does not know these: no covers
            assert result_songs(happy) and not any(r.get("thumbnail_url") for r in happy.params["results"])


async def test_an_empty_or_unknown_inline_query_offers_the_four_moods(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(403)
        for query in ("", "qwertyuiop"):
            answer = await user.inline(query)
            titles = [r["title"] for r in answer.params["results"]]
            assert titles == [texts.mood_label(EN, m) for m in MOODS]
            assert [s.mood for s in result_songs(answer)] == list(MOODS)


async def test_inline_understands_a_feeling_in_the_users_language(fake, pipeline, tmp_path):
    de = LANGUAGES.get("de").tr
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(404, language_code="de")
        answer = await user.inline(texts.mood_name(de, "energetic"))
        assert {s.mood for s in result_songs(answer)} == {"energetic"}
        assert answer.params["results"][0]["reply_markup"]["inline_keyboard"][0][0]["text"] \
            == texts.open_in_spotify_button(de)
        words = await user.inline("I feel so stressed")  # a feeling in words: calm music
        assert {s.mood for s in result_songs(words)} == {"calm"}


async def test_inline_queries_are_flood_limited_per_user(fake, pipeline, tmp_path):
    from bot.inline import QUERIES_PER_MINUTE

    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(405)
        answers = [await user.inline("happy") for _ in range(QUERIES_PER_MINUTE + 2)]
        assert all(a.params["results"] for a in answers[:QUERIES_PER_MINUTE])
        assert not any(a.params["results"] for a in answers[QUERIES_PER_MINUTE:])
        assert (await fake.user(406).inline("happy")).params["results"]  # others are not limited


# --- share -------------------------------------------------------------------------------------

async def test_share_offers_the_song_and_never_the_users_mood(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(407)
        await user.send_text("I feel so stressed")
        reply = await user.reply()
        song = song_of(reply.text)
        shared = share_button(reply)
        assert shared["url"] == [song.url]
        assert shared["text"] == [f"🎵 {song.name} — {song.artist}"]
        await user.press(reply)  # More: its song has a Share button of its own
        more = await user.reply()
        assert share_button(more)["url"] == [song_of(more.text).url]
        await user.send_text("/diary")
        chart = await fake.wait_for(lambda: fake.sent_to(407, "sendPhoto"))
        bot_link = share_button(chart[0])
        assert bot_link["url"] == ["https://t.me/mood_lifter_test_bot"]
        assert not MOOD_WORDS.search(bot_link["text"][0])  # the diary stays private


# --- deep links --------------------------------------------------------------------------------

async def test_deep_links_open_a_mood_the_diary_or_the_check_in(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(408)
        for mood in MOODS:
            await user.send_text(f"/start {mood}")
            assert song_of((await user.reply()).text).mood == mood
        await user.send_text("/start diary")
        assert (await user.reply()).text == texts.diary_empty(EN)  # a song from a link is no diary entry
        await user.send_text("/start checkin")
        assert (await user.reply()).text == texts.checkin_prompt(EN, None)


async def test_forged_or_unknown_deep_links_are_greeted_normally(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        user = fake.user(409)
        for payload in ("HAPPY", "calm%27--", "x" * 65, "forget", "calm happy", "../diary"):
            await user.send_text(f"/start {payload}")
            assert (await user.reply()).text == texts.start(EN)


# --- a group's mood ----------------------------------------------------------------------------

def faces_grid(names: list[str], cols: int, side: int = 320) -> bytes:
    """Real face photos from ../shared/data/photos side by side on white, one per cell."""
    photos = require("photos")
    rows = (len(names) + cols - 1) // cols
    canvas = np.full((rows * (side + 40) + 40, cols * (side + 40) + 40, 3), 255, np.uint8)
    for i, name in enumerate(names):
        r, c = divmod(i, cols)
        face = np.asarray(Image.open(photos / name).convert("RGB").resize((side, side)))
        canvas[40 + r * (side + 40):40 + r * (side + 40) + side, 40 + c * (side + 40):40 + c * (side + 40) + side] = face
    return encode(canvas, quality=92)


def photos_of(kind: str, n: int) -> list[str]:
    return sorted(p.name for p in Path(require("photos")).glob(f"{kind}_*.jpg"))[:n]


_GROUP_HEAD = re.compile(r"I see (\d+) faces?: (.+?) — here's something \S+ <b>(\w+)</b> for the room\.")


def read_group_reply(text: str) -> tuple[int, dict[str, int], str]:
    match = _GROUP_HEAD.search(text)
    assert match, text
    counts = {m: int(n) for n, m in (part.split(" ") for part in match.group(2).split(", "))}
    return int(match.group(1)), counts, match.group(3)


async def test_a_group_photo_is_read_for_every_face_and_answered_for_the_room(fake, pipeline, tmp_path):
    four = faces_grid(photos_of("happy", 3) + photos_of("sad", 1), cols=2)
    twelve = faces_grid(photos_of("happy", 6) + photos_of("neutral", 6), cols=4)
    seen_twelve = len(pipeline.analyze(twelve).faces)
    assert seen_twelve > 10  # the precondition of the "largest 10" case
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        member = fake.user(410, chat_id=-100410, chat_type="supergroup")
        songs = []
        for image, faces in ((selfie_jpeg(), 1), (four, 4), (twelve, seen_twelve)):
            await member.send_photo(image, 760, 440, caption="@mood_lifter_test_bot the room?")
            reply = await member.reply()
            n, counts, mood = read_group_reply(reply.text)
            assert n == faces and sum(counts.values()) == min(faces, 10)
            assert counts[mood] == max(counts.values())  # the room's mood is its most frequent one
            assert ("(I read the 10 largest.)" in reply.text) == (faces > 10)
            song = song_of(reply.text)
            assert song.mood == mood and reply.params.get("reply_parameters")
            songs.append(song)
        assert len(set(songs)) == 3
    # What each face showed is not kept: nothing about the sender or the chat in the diary tables.
    from recommender.store.sqlite import SQLiteHistoryStore

    store = await SQLiteHistoryStore.open(tmp_path / "data" / "mood.sqlite3")
    try:
        assert await store.mood_marks(410, since=0) == [] and await store.mood_marks(-100410, since=0) == []
    finally:
        await store.close()


async def test_more_in_a_group_is_the_chats_and_bounded_per_chat(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, PRESSES_PER_MINUTE="3"), pipeline):
        alice = fake.user(411, chat_id=-100411, chat_type="group")
        bob = fake.user(412, chat_id=-100411, chat_type="group")
        await alice.send_photo(selfie_jpeg(), 512, 512, caption="@mood_lifter_test_bot")
        first = await alice.reply()
        bob._seen = alice._seen
        heard = [song_of(first.text)]
        latest = first
        for presser in (alice, bob, alice):  # different people, one room: no repeats
            await presser.press(latest)  # the newest song carries More
            latest = await presser.reply()
            heard.append(song_of(latest.text))
            bob._seen = alice._seen = max(alice._seen, bob._seen)
        assert len(set(heard)) == 4 and {s.mood for s in heard} == {heard[0].mood}
        await bob.press(latest)  # the room's 4th press within the minute (bob's 2nd): dropped
        await fake.wait_for(lambda: sum(s.method == "answerCallbackQuery" for s in fake.sent) == 4)
        assert len(fake.sent_to(-100411, "sendMessage")) == 4
        # The group's songs are the chat's history, not the pressers': Alice's own starts afresh.
        private = fake.user(411)
        await private.send_text(f"/start {heard[0].mood}")
        assert song_of((await private.reply()).text) == CATALOG.order_for_user(heard[0].mood, 411)[0]
