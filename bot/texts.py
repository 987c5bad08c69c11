"""Everything the bot says, in one place (HTML parse mode: dynamic parts are escaped here)."""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from recommender.adapt import BOUND as ADAPT_BOUND
from recommender.mood import EMOTION_TO_MOOD
from recommender.types import EMOTIONS, MOODS, Song

if TYPE_CHECKING:
    from recommender.music.service import Pick
    from recommender.music.spotify import Enrichment

EMOJI = {
    "angry": "😠", "disgust": "🤢", "fear": "😨", "happy": "😄",
    "sad": "😢", "surprise": "😲", "neutral": "😐",
}
MOOD_EMOJI = {"calm": "🌊", "happy": "☀️", "energetic": "⚡", "sad": "🌧"}
MOOD_BLURB = {
    "calm": "slow, soft songs to settle down",
    "happy": "bright, upbeat songs",
    "energetic": "loud, fast songs to match a jolt",
    "sad": "gentle, melancholic songs that keep you company",
}

COMMANDS = (
    ("start", "What this bot does"),
    ("help", "Buttons, moods, privacy and commands"),
    ("mood", "Pick a mood without a selfie"),
    ("history", "Your last 10 songs"),
    ("diary", "A chart of your moods, last 30 days"),
    ("lift", "Turn mood-lifting songs on or off"),
    ("forget", "Delete everything I keep about you"),
)

START = (
    "Hi! 👋 Send me a selfie and I'll guess how you feel and pick a song for that mood.\n\n"
    "📸 Just send a photo of your face (a normal photo, or an image file).\n"
    "🎵 Tap <b>More</b> under a song for another one — I won't repeat myself.\n"
    "🎭 Read you wrong? Tap <b>Not my mood</b> and choose.\n"
    "💬 No selfie? Tell me how you feel (\"need to calm down\", 😢) or use /mood.\n\n"
    "/help explains how it works and what I keep."
)

HINT = "Send me a selfie 📸 and I'll pick a song for your mood. /help for more."

GROUP_HINT = (
    "I work best in a private chat: open a chat with me and send a selfie. "
    "In groups I only look at photos whose caption mentions me."
)


def help_text(bot_username: str | None = None) -> str:
    mapping = "\n".join(
        f"{EMOJI[e]} {e} → {MOOD_EMOJI[EMOTION_TO_MOOD[e]]} {EMOTION_TO_MOOD[e]}" for e in EMOTIONS)
    moods = "\n".join(f"{MOOD_EMOJI[m]} <b>{m}</b>: {MOOD_BLURB[m]}" for m in MOODS)
    commands = "\n".join(f"/{name} — {text}" for name, text in COMMANDS)
    mention = f"@{escape(bot_username)}" if bot_username else "me"
    return (
        "<b>How it works</b>\n"
        "I find the faces in your photo, read the emotion of the largest one "
        "(one of 7: angry, disgust, fear, happy, sad, surprise, neutral) and map it to a music mood:\n"
        f"{mapping}\n\n<b>Moods</b>\n{moods}\n\n"
        "<b>Buttons</b>\n🎵 <b>More</b>: another song of the same mood.\n"
        "🎭 <b>Not my mood</b>: choose the mood you are really in and get a song for it. When I'm "
        "not sure, I say so and let you choose between the two likeliest moods.\n\n"
        "<b>Learning from you</b>\nEach mood you choose after a selfie tilts my next guesses a "
        f"little toward the moods you pick, for you only. It can only tip a close call (no mood "
        f"counts more than {ADAPT_BOUND:g}× its usual weight), so a few taps never lock you into one mood.\n\n"
        "<b>Without a selfie</b>\n/mood shows the four moods; or just write how you feel "
        "(\"I feel great\", \"need to calm down\", 😢).\n\n"
        "<b>History and diary</b>\n/history lists your last 10 songs. /diary draws your moods of "
        "the last 30 days (from selfies and the moods you chose) with the share of each.\n\n"
        "<b>Privacy</b>\n"
        "Photos are processed in memory and never stored. I keep which songs I served you (so I "
        "don't repeat them), whether /lift is on, and for each answer the mood and the 7 emotion "
        "scores I read (numbers, not the picture) plus any mood you chose. /forget deletes it all.\n\n"
        "<b>Lift mode</b>\n/lift turns it on or off: songs start matched to your mood, then each "
        "🎵 More moves a step toward brighter, more energetic music (music therapists call this "
        "the iso principle). Off by default.\n\n"
        f"<b>Groups</b>\nIn a group, add a caption that mentions {mention} to a photo.\n\n"
        f"<b>Commands</b>\n{commands}"
    )


def percent(confidence: float) -> str:
    return f"{round(confidence * 100)}%"


def song_lines(song: Song, details: Enrichment | None = None) -> str:
    """Title — artist, then (with Spotify enrichment) the album and a preview link, then the URL."""
    lines = [f"🎵 <b>{escape(song.name)}</b> — {escape(song.artist)}"]
    if details is not None and details.album:
        lines.append(f"💿 {escape(details.album)}")
    if details is not None and details.preview_url:
        lines.append(f'▶️ <a href="{escape(details.preview_url, quote=True)}">30-second preview</a>')
    lines.append(escape(song.url))
    return "\n".join(lines)


def analysis_reply(*, emotion: str, confidence: float, mood: str, n_faces: int, pick: Pick | None) -> str:
    lines = []
    if n_faces > 1:
        lines.append(f"I see {n_faces} faces — answering for the largest one.")
    lines.append(f"{EMOJI.get(emotion, '🙂')} You look <b>{escape(emotion)}</b> ({percent(confidence)} sure).")
    lines.append(f"Mood: {MOOD_EMOJI.get(mood, '')} <b>{escape(mood)}</b>")
    if pick is not None and pick.lift_step is not None:
        lines.append("⬆️ Lift mode: each 🎵 More moves a step toward brighter songs.")
    if pick is not None and pick.restarted:
        lines.append(exhausted(mood))
    lines.append("")
    lines.append(song_lines(pick.song, pick.details) if pick else f"I have no {escape(mood)} songs yet, sorry.")
    return "\n".join(lines)


def unsure_reply(*, emotion: str, confidence: float, moods: tuple[str, str], n_faces: int) -> str:
    first, second = (f"{MOOD_EMOJI.get(m, '')} <b>{escape(m)}</b>" for m in moods)
    lines = [f"I see {n_faces} faces — answering for the largest one."] if n_faces > 1 else []
    lines.append(f"🤔 I'm not sure — you look {first} or {second}.")
    lines.append(f"(Best guess: {escape(emotion)}, {percent(confidence)} sure.) Which is closer?")
    return "\n".join(lines)


def chosen_reply(pick: Pick, *, corrected: bool) -> str:
    """A song for a mood the user chose under a reading (a correction or an unsure answer)."""
    head = (f"Got it — {MOOD_EMOJI.get(pick.mood, '')} <b>{escape(pick.mood)}</b>. "
            "I'll keep that in mind next time." if corrected
            else f"{MOOD_EMOJI.get(pick.mood, '')} <b>{escape(pick.mood)}</b> it is.")
    if pick.restarted:
        head += "\n" + exhausted(pick.mood)
    return f"{head}\n\n{song_lines(pick.song, pick.details)}"


def asked_reply(pick: Pick, *, from_text: bool) -> str:
    """A song for a mood named in a text ("sounds like: calm") or picked from /mood."""
    mood = f"{MOOD_EMOJI.get(pick.mood, '')} {escape(pick.mood)}"
    head = f"sounds like: <b>{escape(pick.mood)}</b> {MOOD_EMOJI.get(pick.mood, '')}" if from_text \
        else f"A {mood} song:"
    if pick.restarted:
        head += "\n" + exhausted(pick.mood)
    return f"{head}\n\n{song_lines(pick.song, pick.details)}"


PRIVATE_ONLY = "That one is just for you — ask me in a private chat. 🔒"
MOOD_PROMPT = "How do you feel? Pick a mood 👇"
READING_UNKNOWN = "I don't remember that photo any more (after /forget, maybe) — send a new selfie, please."
HISTORY_EMPTY = "I haven't served you any songs yet. Send a selfie 📸 or use /mood."
DIARY_EMPTY = ("Your diary is empty so far 📔 Send a selfie 📸 or pick a /mood, and I'll chart your moods "
               "of the last 30 days here.")
DIARY_FAILED = "I couldn't draw your diary just now 😕 Please try again in a moment."


def history_text(rows: list[tuple[Song | None, str, str]]) -> str:
    """(song or None when no longer in the catalog, mood, when) newest first."""
    lines = ["<b>Your last songs</b> (newest first)"]
    for i, (song, mood, when) in enumerate(rows, 1):
        mood_part = f"{MOOD_EMOJI.get(mood, '')} {escape(mood)}"
        if song is None:
            lines.append(f"{i}. (a song no longer in my list) · {mood_part} · {escape(when)}")
        else:
            lines.append(f"{i}. <b>{escape(song.name)}</b> — {escape(song.artist)} · {mood_part} · "
                         f"{escape(when)}\n{escape(song.url)}")
    return "\n".join(lines)


def more_reply(pick: Pick) -> str:
    head = exhausted(pick.mood) + "\n\n" if pick.restarted else ""
    if pick.lift_step:
        return f"{head}⬆️ Lifting, step {pick.lift_step}:\n{song_lines(pick.song, pick.details)}"
    return (f"{head}Another {MOOD_EMOJI.get(pick.mood, '')} {escape(pick.mood)} song:\n"
            f"{song_lines(pick.song, pick.details)}")


def exhausted(mood: str) -> str:
    return f"🔁 You've heard all my {escape(mood)} songs — starting over with the ones you heard longest ago."


NO_FACE = (
    "I couldn't find a face in that photo 🤔\n"
    "Tip: face the camera, make sure your face is well lit and not too small, then try again."
)
NOT_IMAGE = "That file isn't an image I can read. Please send a photo (JPEG, PNG or WebP)."


def too_large(size: int | None, limit: int) -> str:
    """`size` None: a file known only to be over the limit (its download was stopped there)."""
    told = human_bytes(size) if size is not None else f"over {human_bytes(limit)}"
    return (f"That file is too big for me ({told}). Please send it as a normal photo, "
            f"or a file under {human_bytes(limit)}.")


DOWNLOAD_SLOW = "Getting that photo from Telegram took too long ⏳ Please send it again in a moment."
DOWNLOAD_FAILED = "I couldn't fetch that photo from Telegram 😕 Please send it again in a moment."
UNSUPPORTED_MEDIA = {
    "sticker": "Nice sticker! 😄 But I need a real photo of a face to pick a song.",
    "video": "I can't watch videos yet 🎬 — please send a photo instead.",
    "voice": "I can't listen to voice messages 🎙 — please send a selfie instead.",
    "audio": "I can't listen to audio 🎧 — please send a selfie instead.",
    "animation": "GIFs are fun, but I need a still photo of a face.",
    "other": "I can only read photos. Send me a selfie 📸",
}
FLOODED = {
    "photo": "Whoa, that's a lot of photos! 😅 I can look at {limit} a minute — "
             "I'll skip the extra ones; try again in a minute.",
    "text": "Whoa, that's a lot of messages! 😅 I'll skip the extra ones for a minute.",
    "press": "That's a lot of songs at once! 😅 Give me a minute, then tap More again.",
}
BUSY_ERROR = "Something went wrong on my side 😓 Please try again in a moment."
MORE_UNKNOWN = "This button is from an older version of me — send a new photo, please."
MOOD_UNKNOWN = "I don't have songs for that mood — try /mood, please."


def forgot(n: int) -> str:
    songs = "1 song" if n == 1 else f"{n} songs"
    return f"Done — I forgot the {songs} I had served you, your moods and choices, and your settings. 🧹"


FORGOT_NOTHING = "I had nothing stored about you. 🧹"
LIFT_ON = ("Lift mode is <b>on</b> ⬆️: the first song matches your mood, then each 🎵 More moves a step "
           "toward happier, more energetic songs. /lift again turns it off.")
LIFT_OFF = "Lift mode is <b>off</b>: songs match your mood. /lift turns it on."


def human_bytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"
