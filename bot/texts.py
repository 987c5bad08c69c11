"""Everything the bot says, in one place, in the reader's language.

Each text is a function of `tr`, the reader's gettext translations (bot/i18n.py), so Babel finds
every English source text here (`make translations`). HTML parse mode: dynamic parts are escaped
here and go into the translated text through named `{placeholders}`.
"""
from __future__ import annotations

import time
from gettext import NullTranslations as Tr
from html import escape
from typing import TYPE_CHECKING

from recommender.adapt import BOUND as ADAPT_BOUND
from recommender.mood import EMOTION_TO_MOOD
from recommender.types import EMOTIONS, MOODS, Song
from recommender.vision import imageio

from .diary import Labels

if TYPE_CHECKING:
    from recommender.music.service import Pick
    from recommender.music.spotify import Enrichment

EMOJI = {
    "angry": "😠", "disgust": "🤢", "fear": "😨", "happy": "😄",
    "sad": "😢", "surprise": "😲", "neutral": "😐",
}
MOOD_EMOJI = {"calm": "🌊", "happy": "☀️", "energetic": "⚡", "sad": "🌧"}
COMMAND_NAMES = ("start", "help", "mood", "history", "diary", "checkin", "lift", "settings", "language", "forget")
HISTORY_SIZE = 10


# --- names -------------------------------------------------------------------------------------

def emotion_name(tr: Tr, emotion: str) -> str:
    # TRANSLATORS: the 7 facial emotions. Shown alone and inside "You look {emotion}"; pick the
    # form that reads well in both (a noun is fine where an adjective would need a gender).
    names = {
        "angry": tr.pgettext("emotion", "angry"), "disgust": tr.pgettext("emotion", "disgust"),
        "fear": tr.pgettext("emotion", "fear"), "happy": tr.pgettext("emotion", "happy"),
        "sad": tr.pgettext("emotion", "sad"), "surprise": tr.pgettext("emotion", "surprise"),
        "neutral": tr.pgettext("emotion", "neutral"),
    }
    return names.get(emotion, emotion)


def mood_name(tr: Tr, mood: str) -> str:
    # TRANSLATORS: the 4 music moods, shown on buttons, in replies and on the diary chart.
    names = {
        "calm": tr.pgettext("mood", "calm"), "happy": tr.pgettext("mood", "happy"),
        "energetic": tr.pgettext("mood", "energetic"), "sad": tr.pgettext("mood", "sad"),
    }
    return names.get(mood, mood)


def mood_label(tr: Tr, mood: str) -> str:
    """Emoji and name, as on the mood buttons: "🌊 calm"."""
    return f"{MOOD_EMOJI.get(mood, '')} {escape(mood_name(tr, mood))}".strip()


def mood_blurb(tr: Tr, mood: str) -> str:
    blurbs = {
        "calm": tr.gettext("slow, soft songs to settle down"),
        "happy": tr.gettext("bright, upbeat songs"),
        "energetic": tr.gettext("loud, fast songs to match a jolt"),
        "sad": tr.gettext("gentle, melancholic songs that keep you company"),
    }
    return blurbs[mood]


def commands(tr: Tr) -> list[tuple[str, str]]:
    """The command menu: (command, description); the commands themselves stay English."""
    described = {
        "start": tr.gettext("What this bot does"),
        "help": tr.gettext("Buttons, moods, privacy and commands"),
        "mood": tr.gettext("Pick a mood without a selfie"),
        "history": tr.ngettext("Your last song", "Your last {n} songs", HISTORY_SIZE).format(n=HISTORY_SIZE),
        "diary": tr.gettext("A chart of your moods, last 30 days"),
        "checkin": tr.gettext("A daily check-in: I ask how you are"),
        "lift": tr.gettext("Turn mood-lifting songs on or off"),
        "settings": tr.gettext("Explicit and dark songs on or off"),
        "language": tr.gettext("Choose the language I speak"),
        "forget": tr.gettext("Delete everything I keep about you"),
    }
    return [(name, described[name]) for name in COMMAND_NAMES]


def description(tr: Tr) -> str:
    """The bot's profile text, shown in an empty chat before /start (at most 512 characters)."""
    return tr.gettext(
        "Send me a selfie and I'll guess how you feel and pick a song for that mood, as a Spotify "
        "link. Tap More for another song, or tell me your mood in words. Photos are read in memory "
        "and never stored.")


def short_description(tr: Tr) -> str:
    """The bot's profile bio and share text (at most 120 characters)."""
    return tr.gettext("Send a selfie, get a song for your mood 🎵")


def percent(tr: Tr, confidence: float) -> str:
    # TRANSLATORS: a percentage; write it the way your language does ("72 %", "%72").
    return tr.pgettext("percent", "{n}%").format(n=round(confidence * 100))


def human_bytes(tr: Tr, n: int) -> str:
    if n >= 1024 * 1024:
        # TRANSLATORS: the decimal mark of your language's numbers ("." or ",").
        mb = f"{n / (1024 * 1024):.1f}".replace(".", tr.pgettext("decimal mark", "."))
        return tr.gettext("{size} MB").format(size=mb)
    return tr.gettext("{size} KB").format(size=max(1, n // 1024))


def when(tr: Tr, at: float) -> str:
    """A time in /history: day, month and time of day, UTC."""
    t = time.gmtime(at)
    # TRANSLATORS: month abbreviations in /history ("29 Nov 14:05 UTC").
    months = (tr.pgettext("month", "Jan"), tr.pgettext("month", "Feb"), tr.pgettext("month", "Mar"),
              tr.pgettext("month", "Apr"), tr.pgettext("month", "May"), tr.pgettext("month", "Jun"),
              tr.pgettext("month", "Jul"), tr.pgettext("month", "Aug"), tr.pgettext("month", "Sep"),
              tr.pgettext("month", "Oct"), tr.pgettext("month", "Nov"), tr.pgettext("month", "Dec"))
    # TRANSLATORS: a date and time in /history: {day} of the month, {month} abbreviated, {time} 14:05.
    return tr.gettext("{day} {month} {time} UTC").format(
        day=t.tm_mday, month=months[t.tm_mon - 1], time=time.strftime("%H:%M", t))


# --- commands ----------------------------------------------------------------------------------

def start(tr: Tr) -> str:
    return tr.gettext(
        "Hi! 👋 Send me a selfie and I'll pick a song for the mood on your face.\n\n"
        "📸 A normal photo of your face is all I need; I read it in memory and never keep it.\n"
        "🎵 Under each song: <b>More</b> for another one, <b>Not my mood</b> if I read you wrong.\n"
        "💬 No selfie? Tell me how you feel (\"need to calm down\", 😢).\n\n"
        "/help has the details, /language changes my language.")


def show_button(tr: Tr, section: str) -> str:
    """/start's buttons: "how" (the how-it-works text) and "mood" (the /mood picker)."""
    return help_button(tr, "how") if section == "how" else tr.gettext("🎧 Pick a mood")


def help_button(tr: Tr, section: str) -> str:
    """/help's detail buttons (keyboards.HELP_SECTIONS) and "top", back to the overview."""
    labels = {
        "how": tr.gettext("📸 How it works"),
        "learn": tr.gettext("🎭 Buttons and learning"),
        "privacy": tr.gettext("🔒 What I keep"),
        "extras": tr.gettext("⬆️ Lift mode and groups"),
        "top": tr.gettext("◀️ Back"),
    }
    return labels[section]


def hint(tr: Tr) -> str:
    return tr.gettext("Send me a selfie 📸 and I'll pick a song for your mood. /help for more.")


def group_hint(tr: Tr) -> str:
    return tr.gettext(
        "I work best in a private chat: open a chat with me and send a selfie. "
        "In groups I only look at photos whose caption mentions me.")


def help_text(tr: Tr, bot_username: str | None = None) -> str:
    """The /help overview (at most 1,000 characters in every language); details are a tap away."""
    menu = "\n".join(f"/{name} — {escape(text)}" for name, text in commands(tr))
    return "\n".join([
        tr.gettext("<b>How to use me</b>\n"
                   "📸 Send a selfie: I read your face and answer with a song for that mood.\n"
                   "🎵 <b>More</b>: another song of that mood. 🎭 <b>Not my mood</b>: pick the right one, "
                   "and I learn from it.\n"
                   "🤔 When I'm not sure, I ask instead of guessing.\n"
                   "💬 No selfie? Write how you feel, or use /mood."),
        "",
        tr.gettext("<b>Commands</b>"),
        menu,
        "",
        tr.gettext("Tap a button for the details 👇"),
    ])


def help_section(tr: Tr, section: str, bot_username: str | None = None) -> str:
    """One /help detail (keyboards.HELP_SECTIONS), edited into the help message on a tap."""
    if section == "how":
        mapping = "\n".join(f"{EMOJI[e]} {escape(emotion_name(tr, e))} → {mood_label(tr, EMOTION_TO_MOOD[e])}"
                            for e in EMOTIONS)
        moods = "\n".join(f"{MOOD_EMOJI[m]} <b>{escape(mood_name(tr, m))}</b>: {mood_blurb(tr, m)}" for m in MOODS)
        emotions = ", ".join(escape(emotion_name(tr, e)) for e in EMOTIONS)
        return "\n".join([
            tr.gettext("<b>How it works</b>\nI find the faces in your photo, read the emotion of the largest "
                       "one (one of 7: {emotions}) and map it to a music mood:").format(emotions=emotions),
            mapping, "", tr.gettext("<b>Moods</b>"), moods])
    if section == "learn":
        return "\n".join([
            tr.gettext("<b>Buttons</b>\n🎵 <b>More</b>: another song of the same mood.\n"
                       "🎭 <b>Not my mood</b>: choose the mood you are really in and get a song for it.\n"
                       "When I'm not sure, I offer the two likeliest moods and <b>Other…</b> for all four. "
                       "The % I show is how sure I am of the mood I picked."),
            "",
            tr.gettext("<b>Learning from you</b>\nEach mood you choose after a selfie tilts my next guesses a "
                       "little toward the moods you pick, for you only. It can only tip a close call (no mood "
                       "counts more than {bound}× its usual weight), so a few taps never lock you into one "
                       "mood.").format(bound=f"{ADAPT_BOUND:g}")])
    if section == "privacy":
        return "\n".join([
            tr.gettext("<b>Privacy</b>\nPhotos are processed in memory and never stored. I keep which songs "
                       "I served you (so I don't repeat them), your settings (/lift, /settings, /language), your "
                       "/checkin time and zone, and for each "
                       "answer the mood and the 7 emotion scores I read (numbers, not the picture) plus any "
                       "mood you chose. /forget deletes it all."),
            "",
            tr.gettext("<b>History and diary</b>\n/history lists your last {n} songs. /diary draws your moods "
                       "of the last 30 days (from selfies and the moods you chose) with the share of "
                       "each.").format(n=HISTORY_SIZE)])
    mention = f"@{escape(bot_username)}" if bot_username else tr.gettext("me")
    return "\n".join([
        tr.gettext("<b>Lift mode</b>\n/lift turns it on or off: songs start matched to your mood, then "
                   "each 🎵 More moves a step toward brighter, more energetic music (music therapists call "
                   "this the iso principle). Off by default."),
        "",
        tr.gettext("<b>Without a selfie</b>\n/mood shows the four moods; or just write how you feel "
                   "(\"I feel great\", \"need to calm down\", 😢)."),
        "",
        tr.gettext("<b>Groups</b>\nIn a group, add a caption that mentions {mention} to a photo.").format(
            mention=mention)])


def private_only(tr: Tr) -> str:
    return tr.gettext("That one is just for you — ask me in a private chat. 🔒")


def mood_prompt(tr: Tr) -> str:
    return tr.gettext("How do you feel? Pick a mood 👇")


def reading_unknown(tr: Tr) -> str:
    return tr.gettext("I don't remember that photo any more (after /forget, maybe) — send a new selfie, please.")


def history_empty(tr: Tr) -> str:
    return tr.gettext("I haven't served you any songs yet. Send a selfie 📸 or use /mood.")


def diary_empty(tr: Tr) -> str:
    return tr.gettext("Your diary is empty so far 📔 Send a selfie 📸 or pick a /mood, and I'll chart your "
                      "moods of the last 30 days here.")


def diary_failed(tr: Tr) -> str:
    return tr.gettext("I couldn't draw your diary just now 😕 Please try again in a moment.")


def history_text(tr: Tr, rows: list[tuple[Song | None, str, float]]) -> str:
    """(song or None when no longer in the catalog, mood, served at) newest first; titles link."""
    lines = [tr.gettext("<b>Your last songs</b> (newest first)")]
    gone = tr.gettext("(a song no longer in my list)")
    for i, (song, mood, at) in enumerate(rows, 1):
        tail = f"{mood_label(tr, mood)} · {escape(when(tr, at))}"
        if song is None:
            lines.append(f"{i}. {gone} · {tail}")
        else:
            lines.append(f'{i}. <a href="{escape(song.url, quote=True)}"><b>{escape(song.name)}</b></a> — '
                         f"{escape(song.artist)} · {tail}")
    return "\n".join(lines)


def forgot(tr: Tr, n: int) -> str:
    return tr.ngettext(
        "Done — I forgot the song I had served you, your moods and choices, and your settings. 🧹",
        "Done — I forgot the {n} songs I had served you, your moods and choices, and your settings. 🧹",
        n).format(n=n)


def forgot_settings(tr: Tr) -> str:
    """/forget for someone with moods or settings stored but no song served."""
    return tr.gettext("Done — I forgot your moods, choices and settings. 🧹")


def forgot_nothing(tr: Tr) -> str:
    return tr.gettext("I had nothing stored about you. 🧹")


def lift_on(tr: Tr) -> str:
    return tr.gettext("Lift mode is <b>on</b> ⬆️: the first song matches your mood, then each 🎵 More moves a "
                      "step toward happier, more energetic songs. /lift again turns it off.")


def lift_off(tr: Tr) -> str:
    return tr.gettext("Lift mode is <b>off</b>: songs match your mood. /lift turns it on.")


def language_prompt(tr: Tr, current: str) -> str:
    return tr.gettext("I speak <b>{language}</b> with you now. Choose another language 👇").format(
        language=escape(current))


def language_auto(tr: Tr) -> str:
    """The /language button that follows the user's Telegram language again."""
    return tr.gettext("🌐 Same as my Telegram")


def not_yours(tr: Tr) -> str:
    """The alert for a press on a message that answers someone else (in a group)."""
    return tr.gettext("That button belongs to someone else's message — send your own selfie 🙂")


def already_sent(tr: Tr) -> str:
    """A second press on a More button that already served its song."""
    return tr.gettext("Already sent — it's just below ⬇️")


def already_chosen(tr: Tr, mood: str) -> str:
    """A second press on a picker already answered: nothing new, nothing counted twice."""
    return tr.gettext("You already picked {mood} for this one ✓").format(mood=mood_label(tr, mood))


def you_chose(tr: Tr, mood: str) -> str:
    """Added to a picker once answered (its buttons gone): what was chosen."""
    return tr.gettext("✅ Your pick: {mood}").format(mood=mood_label(tr, mood))


def language_set(tr: Tr) -> str:
    """Confirms a /language choice, in the chosen language."""
    return tr.gettext("Done! I'll speak English with you from now on. /help shows what I can do.")


# --- songs -------------------------------------------------------------------------------------

def song_lines(tr: Tr, song: Song, details: Enrichment | None = None) -> str:
    """Title (a link to the song) — artist, then (with Spotify enrichment) the album and a preview
    link; no raw URL: the "Open in Spotify" button and the preview carry it."""
    lines = [f'🎵 <a href="{escape(song.url, quote=True)}"><b>{escape(song.name)}</b></a> — {escape(song.artist)}']
    if details is not None and details.album:
        lines.append(f"💿 {escape(details.album)}")
    if details is not None and details.preview_url:
        preview = tr.gettext("30-second preview")
        lines.append(f'▶️ <a href="{escape(details.preview_url, quote=True)}">{preview}</a>')
    return "\n".join(lines)


def faces_seen(tr: Tr, n_faces: int) -> str:
    return tr.ngettext("I see {n} face — answering for it.", "I see {n} faces — answering for the largest one.",
                       n_faces).format(n=n_faces)


def looks(tr: Tr, emotion: str) -> str:
    """What the face showed, as the first half of the reply to a selfie."""
    # TRANSLATORS: what a face showed; a clause about the music follows after " — ". Use words
    # that fit anyone (no adjective that needs a gender), and keep the <b></b> on the feeling.
    faces = {
        "angry": tr.pgettext("face", "You look <b>tense</b>"),
        "disgust": tr.pgettext("face", "You look <b>put off</b>"),
        "fear": tr.pgettext("face", "You look <b>worried</b>"),
        "happy": tr.pgettext("face", "You look <b>happy</b>"),
        "sad": tr.pgettext("face", "You look <b>sad</b>"),
        "surprise": tr.pgettext("face", "You look <b>surprised</b>"),
        "neutral": tr.pgettext("face", "You look <b>neutral</b>"),
    }
    return faces.get(emotion, faces["neutral"])


def music_for(tr: Tr, emotion: str, mood: str, adapted: bool = False) -> str:
    """What the music does for that face; `mood` is "🌊 <b>calm</b>" inside the clause;
    `adapted`: this person's past picks turned the decision to `mood`."""
    # TRANSLATORS: the second half of the reply to a selfie, after "You look …  — "; {mood} is the
    # music mood with its emoji ("🌊 calm"), the name as on the mood buttons.
    usual = {
        "angry": tr.pgettext("music", "here's something {mood} for that"),
        "disgust": tr.pgettext("music", "here's something {mood} to clear your head"),
        "fear": tr.pgettext("music", "here's something {mood} to ease it"),
        "happy": tr.pgettext("music", "here's something {mood} to keep it going"),
        "sad": tr.pgettext("music", "here's something {mood} to keep you company"),
        "surprise": tr.pgettext("music", "here's something {mood} to match it"),
        "neutral": tr.pgettext("music", "let's start with something {mood}"),
    }
    label = f"{MOOD_EMOJI.get(mood, '')} <b>{escape(mood_name(tr, mood))}</b>".strip()
    if adapted:
        clause = tr.pgettext("music", "going by your past picks, here's something {mood}")
    elif EMOTION_TO_MOOD.get(emotion) == mood:
        clause = usual[emotion]
    else:  # a decision that weighs all the emotions may differ from the face's usual mood
        clause = tr.pgettext("music", "here's something {mood} for you")
    return clause.format(mood=label)


def analysis_reply(tr: Tr, *, emotion: str, confidence: float, mood: str, n_faces: int,
                   pick: Pick | None, adapted: bool = False) -> str:
    """`confidence`: the probability of `mood`, the one decided on (never the emotion's);
    `adapted`: the person's past picks turned the decision to `mood`."""
    lines = [faces_seen(tr, n_faces)] if n_faces > 1 else []
    # TRANSLATORS: the reply to a selfie: {face} "You look tense", {music} "here's something calm
    # for that", {percent} how sure the bot is of that music mood ("72%").
    lines.append(f"{EMOJI.get(emotion, '🙂')} " + tr.gettext("{face} — {music} ({percent} sure).").format(
        face=looks(tr, emotion), music=music_for(tr, emotion, mood, adapted), percent=percent(tr, confidence)))
    if pick is not None and pick.lift_step is not None:
        lines.append(tr.gettext("⬆️ Lift mode: each 🎵 More moves a step toward brighter songs."))
    if pick is not None and pick.restarted:
        lines.append(exhausted(tr, mood))
    lines.append("")
    lines.append(song_lines(tr, pick.song, pick.details) if pick else tr.gettext(
        "I have no {mood} songs yet, sorry.").format(mood=escape(mood_name(tr, mood))))
    return "\n".join(lines)


def unsure_reply(tr: Tr, *, moods: tuple[str, str], n_faces: int) -> str:
    """The two likeliest moods, the best guess first; the buttons offer them and "Other…"."""
    first, second = (f"{MOOD_EMOJI.get(m, '')} <b>{escape(mood_name(tr, m))}</b>" for m in moods)
    lines = [faces_seen(tr, n_faces)] if n_faces > 1 else []
    lines.append(tr.gettext("🤔 I can't quite read this one. My best guess is {first}, or maybe {second} — "
                            "which is closer?").format(first=first, second=second))
    return "\n".join(lines)


def other_button(tr: Tr) -> str:
    """Under the unsure reply: all four moods instead of the two offered."""
    return tr.gettext("Other…")


def open_in_spotify_button(tr: Tr) -> str:
    return tr.gettext("🎧 Open in Spotify")


def chosen_reply(tr: Tr, pick: Pick, *, corrected: bool) -> str:
    """A song for a mood the user chose under a reading (a correction or an unsure answer)."""
    values = {"emoji": MOOD_EMOJI.get(pick.mood, ""), "mood": escape(mood_name(tr, pick.mood))}
    head = (tr.gettext("Got it — {emoji} <b>{mood}</b>. I'll keep that in mind next time.") if corrected
            else tr.gettext("{emoji} <b>{mood}</b> it is.")).format(**values)
    if pick.restarted:
        head += "\n" + exhausted(tr, pick.mood)
    return f"{head}\n\n{song_lines(tr, pick.song, pick.details)}"


def asked_reply(tr: Tr, pick: Pick, *, from_text: bool) -> str:
    """A song for a mood named in a text ("Sounds like: calm") or picked from /mood."""
    values = {"emoji": MOOD_EMOJI.get(pick.mood, ""), "mood": escape(mood_name(tr, pick.mood))}
    head = (tr.gettext("Sounds like: <b>{mood}</b> {emoji}") if from_text
            else tr.gettext("A {emoji} {mood} song:")).format(**values)
    if pick.restarted:
        head += "\n" + exhausted(tr, pick.mood)
    return f"{head}\n\n{song_lines(tr, pick.song, pick.details)}"


def more_reply(tr: Tr, pick: Pick) -> str:
    head = exhausted(tr, pick.mood) + "\n\n" if pick.restarted else ""
    if pick.lift_step:
        return (head + tr.gettext("⬆️ Lifting, step {step}:").format(step=pick.lift_step)
                + "\n" + song_lines(tr, pick.song, pick.details))
    return (head + tr.gettext("Another {emoji} {mood} song:").format(
        emoji=MOOD_EMOJI.get(pick.mood, ""), mood=escape(mood_name(tr, pick.mood)))
        + "\n" + song_lines(tr, pick.song, pick.details))


def exhausted(tr: Tr, mood: str) -> str:
    return tr.gettext("🔁 You've heard all my {mood} songs — starting over with the ones you heard longest "
                      "ago.").format(mood=escape(mood_name(tr, mood)))


# --- what cannot be answered -------------------------------------------------------------------

def no_face(tr: Tr) -> str:
    return tr.gettext("I couldn't find a face in that photo 🤔\n"
                      "Tip: face the camera, make sure your face is well lit and not too small, then try again.")


def not_image(tr: Tr) -> str:
    return tr.gettext("That file isn't an image I can read. Please send a photo (JPEG, PNG or WebP).")


def image_error(tr: Tr, error: imageio.ImageError) -> str:
    """Why an image could not be used, by the kind of error (its own message is the CLI's English)."""
    if isinstance(error, imageio.NotAnImage):
        return tr.gettext("That doesn't look like an image. Please send a photo (JPEG, PNG or WebP).")
    if isinstance(error, imageio.UnsupportedFormat):
        return tr.gettext("I can't read this image format. Please send a JPEG, PNG or WebP photo.")
    if isinstance(error, imageio.CorruptImage):
        return tr.gettext("This image seems damaged or incomplete. Could you send it again?")
    if isinstance(error, imageio.ImageTooLarge):
        return tr.gettext("This image is too large for me. Please send it as a normal photo (not as a file).")
    if isinstance(error, imageio.ImageTooSmall):
        return tr.gettext("This image is too small to see a face. Please send a bigger photo.")
    return tr.gettext("I couldn't read that image.")


def too_large(tr: Tr, size: int | None, limit: int) -> str:
    """`size` None: a file known only to be over the limit (its download was stopped there)."""
    if size is None:
        return tr.gettext("That file is too big for me (over {limit}). Please send it as a normal photo, "
                          "or a file under {limit}.").format(limit=human_bytes(tr, limit))
    return tr.gettext("That file is too big for me ({size}). Please send it as a normal photo, "
                      "or a file under {limit}.").format(size=human_bytes(tr, size), limit=human_bytes(tr, limit))


def download_slow(tr: Tr) -> str:
    return tr.gettext("Getting that photo from Telegram took too long ⏳ Please send it again in a moment.")


def download_failed(tr: Tr) -> str:
    return tr.gettext("I couldn't fetch that photo from Telegram 😕 Please send it again in a moment.")


UNSUPPORTED_KINDS = ("sticker", "video", "voice", "audio", "animation")


def unsupported_media(tr: Tr, kind: str) -> str:
    """`kind`: one of UNSUPPORTED_KINDS, or anything else for "other"."""
    texts = {
        "sticker": tr.gettext("Nice sticker! 😄 But I need a real photo of a face to pick a song."),
        "video": tr.gettext("I can't watch videos yet 🎬 — please send a photo instead."),
        "voice": tr.gettext("I can't listen to voice messages 🎙 — please send a selfie instead."),
        "audio": tr.gettext("I can't listen to audio 🎧 — please send a selfie instead."),
        "animation": tr.gettext("GIFs are fun, but I need a still photo of a face."),
    }
    return texts.get(kind) or tr.gettext("I can only read photos. Send me a selfie 📸")


def flooded(tr: Tr, kind: str, limit: int) -> str:
    """The one notice a sender gets over a flood limit; `kind`: photo, text or press."""
    if kind == "photo":
        return tr.ngettext(
            "Whoa, that's a lot of photos! 😅 I can look at {n} a minute — I'll skip the extra ones; "
            "try again in a minute.",
            "Whoa, that's a lot of photos! 😅 I can look at {n} a minute — I'll skip the extra ones; "
            "try again in a minute.", limit).format(n=limit)
    if kind == "press":
        return tr.gettext("That's a lot of songs at once! 😅 Give me a minute, then tap More again.")
    return tr.gettext("Whoa, that's a lot of messages! 😅 I'll skip the extra ones for a minute.")


def busy_error(tr: Tr) -> str:
    return tr.gettext("Something went wrong on my side 😓 Please try again in a moment.")


def button_gone(tr: Tr) -> str:
    """The alert for a button its message no longer has (already used), or never had (forged)."""
    return tr.gettext("That button has already been used 🙂")


def more_unknown(tr: Tr) -> str:
    return tr.gettext("This button is from an older version of me — send a new photo, please.")


# --- buttons -----------------------------------------------------------------------------------

def more_button(tr: Tr) -> str:
    return tr.gettext("🎵 More")


def not_my_mood_button(tr: Tr) -> str:
    return tr.gettext("🎭 Not my mood")


# --- the diary ---------------------------------------------------------------------------------

def diary_summary(tr: Tr, shares: list[tuple[str, int]], total: int, days: int) -> str:
    """The caption under the chart, for screen readers too: (mood, percent) largest first."""
    # TRANSLATORS: a check-in is one mood in the diary: read from a selfie or chosen by the user.
    count = tr.ngettext("{n} check-in", "{n} check-ins", total).format(n=total)
    if not shares:
        return tr.gettext("Your last {days} days: {count}.").format(days=days, count=count)
    parts = ", ".join(f"{escape(mood_name(tr, m))} {percent(tr, p / 100)}" for m, p in shares)
    return tr.gettext("Your last {days} days: {count} — {shares}.").format(days=days, count=count, shares=parts)


def diary_labels(tr: Tr, days: int) -> Labels:
    """The chart's words (plain text: it is drawn, not sent as HTML)."""
    months = (tr.pgettext("month", "Jan"), tr.pgettext("month", "Feb"), tr.pgettext("month", "Mar"),
              tr.pgettext("month", "Apr"), tr.pgettext("month", "May"), tr.pgettext("month", "Jun"),
              tr.pgettext("month", "Jul"), tr.pgettext("month", "Aug"), tr.pgettext("month", "Sep"),
              tr.pgettext("month", "Oct"), tr.pgettext("month", "Nov"), tr.pgettext("month", "Dec"))
    insights = {
        # TRANSLATORS: the one-line insight atop the diary chart (this one and the 9 after it): {mood} is
        # a mood name ("calm"); "mostly": over half of this week's check-ins; "heavier": sadder.
        "week-mostly": tr.gettext("Mostly {mood} this week"),
        "week-mostly-brighter": tr.gettext("Mostly {mood} this week, brighter than last week"),
        "week-mostly-heavier": tr.gettext("Mostly {mood} this week, heavier than last week"),
        "week-mostly-steady": tr.gettext("Mostly {mood} this week, much like last week"),
        "week-mix": tr.gettext("A mix of moods this week"),
        "week-mix-brighter": tr.gettext("A mix of moods this week, brighter than last week"),
        "week-mix-heavier": tr.gettext("A mix of moods this week, heavier than last week"),
        "week-mix-steady": tr.gettext("A mix of moods this week, much like last week"),
        "before-mostly": tr.gettext("No check-ins this week; mostly {mood} before that"),
        "before-mix": tr.gettext("No check-ins this week; a mix of moods before that"),
    }
    return Labels(
        title=tr.gettext("Your moods, last {days} days").format(days=days),
        selfie=tr.gettext("from a selfie"),
        chosen=tr.gettext("you chose"),
        percent=tr.pgettext("percent", "{n}%"),
        moods=tuple(mood_name(tr, m) for m in MOODS),
        months=months,
        # TRANSLATORS: a date under the diary chart: {day} of the month, {month} abbreviated ("5 Dec").
        date=tr.pgettext("chart date", "{day} {month}"),
        insights=insights,
    )


# --- what a text says besides a mood --------------------------------------------------------

def felt_reply(tr: Tr, pick: Pick, feeling: str) -> str:
    """A song for a feeling that wants music other than its name ("stressed" → calm): the reply
    says what the person sounds, never that they sound calm."""
    heads = {
        "stressed": tr.gettext("Sounds stressed — here's something {emoji} <b>{mood}</b> for that"),
        "tired": tr.gettext("Sounds tired — here's something {emoji} <b>{mood}</b> for that"),
        "angry": tr.gettext("Sounds angry — here's something {emoji} <b>{mood}</b> for that"),
        "anxious": tr.gettext("Sounds anxious — here's something {emoji} <b>{mood}</b> for that"),
        "annoyed": tr.gettext("Sounds fed up — here's something {emoji} <b>{mood}</b> for that"),
    }
    head = heads[feeling].format(emoji=MOOD_EMOJI.get(pick.mood, ""), mood=escape(mood_name(tr, pick.mood)))
    if pick.restarted:
        head += "\n" + exhausted(tr, pick.mood)
    return f"{head}\n\n{song_lines(tr, pick.song, pick.details)}"


def greeting_reply(tr: Tr, greeting: str) -> str:
    """A greeting that names no feeling ("good morning", "iyi geceler"), answered in kind; a plain
    "hi" gets the hint."""
    if greeting == "morning":
        return tr.gettext("Good morning ☀️ How are you feeling today? Tell me, pick a mood 👇 or send me a selfie 📸")
    if greeting == "evening":
        return tr.gettext("Good evening 🌆 How are you feeling? Tell me, pick a mood 👇 or send me a selfie 📸")
    if greeting == "night":
        return tr.gettext("Good night 🌙 Something {calm} to drift off to? Pick a mood 👇").format(
            calm=mood_label(tr, "calm"))
    return hint(tr)


def hurt_reply(tr: Tr) -> str:
    """A message that sounds sad or hurt ("my dog died this morning") but names no mood."""
    return tr.gettext("I'm so sorry — that sounds really hard 💙 I'm here. If music would help right now, "
                      "pick what you need 👇")


# --- /settings: explicit and dark songs ----------------------------------------------------------

def settings_mature(tr: Tr, on: bool) -> str:
    """The /settings message: the opt-in's state and what it changes."""
    state = tr.gettext("Explicit and dark songs (swearing, violence, drugs) are <b>on</b>: they can come "
                       "in ☀️ happy and in lift mode too.") if on else \
        tr.gettext("Explicit and dark songs (swearing, violence, drugs) are <b>off</b> in ☀️ happy and in "
                   "lift mode.")
    return tr.gettext("⚙️ <b>Settings</b>") + "\n" + state + "\n" + tr.gettext(
        "Christmas songs come only in December.")


def mature_button(tr: Tr, on: bool) -> str:
    """The /settings button: what pressing it does (the opposite of the state now)."""
    return tr.gettext("🚫 Keep songs clean") if on else tr.gettext("🔞 Allow explicit songs")


# --- beyond one chat: inline mode, sharing, the daily check-in, a group's mood (issue 27) ------

def inline_mood_description(tr: Tr, mood: str) -> str:
    """Under a mood in the inline results (empty query): choosing it posts a song of that mood."""
    return tr.gettext("Post a {mood} song in this chat").format(mood=mood_name(tr, mood))


def share_button(tr: Tr) -> str:
    return tr.gettext("📤 Share")


def share_bot_text(tr: Tr) -> str:
    """The text beside the bot's link when someone shares the bot (never their moods)."""
    return tr.gettext("Music for your mood: send a selfie, get a song 🎵")


def checkin_prompt(tr: Tr, current: tuple[str, str] | None) -> str:
    """/checkin: pick a time; `current` is (time, zone) when one is set."""
    head = tr.gettext("⏰ <b>Daily check-in</b>\nOnce a day I'll ask how you are, with the four moods. "
                      "When should I ask? Pick a time 👇 (or type e.g. /checkin 7:30 +2)")
    if current is None:
        return head
    now = tr.gettext("Now: every day at {time} ({zone}).").format(time=current[0], zone=escape(current[1]))
    return f"{head}\n\n{now}"


def checkin_zone_prompt(tr: Tr, time_of_day: str) -> str:
    return tr.gettext("{time} where? Pick your city or UTC offset, so it's {time} for you 👇").format(
        time=time_of_day)


def checkin_off_button(tr: Tr) -> str:
    return tr.gettext("🔕 Turn off")


def checkin_set(tr: Tr, time_of_day: str, zone: str) -> str:
    return tr.gettext("✅ Every day at {time} ({zone}) I'll ask how you are. /checkin changes or stops it.").format(
        time=time_of_day, zone=escape(zone))


def checkin_off(tr: Tr, was_on: bool) -> str:
    return tr.gettext("🔕 Daily check-in is off.") if was_on else tr.gettext("You have no daily check-in.")


def checkin_bad_time(tr: Tr) -> str:
    return tr.gettext("I didn't get that time. Try /checkin 8:30 +2 (time, then a UTC offset or a city), "
                      "or pick below 👇")


def checkin_message(tr: Tr, streak: int, late: tuple[str, int] | None = None) -> str:
    """The daily question; `late` is (due time, check-ins missed) when it comes late."""
    lines = []
    if late is not None:
        due, missed = late
        lines.append(tr.gettext("Sorry, I'm late — this check-in was due at {time}.").format(time=due)
                     if missed <= 1 else
                     tr.ngettext("Sorry, I was away and missed {n} check-in.",
                                 "Sorry, I was away and missed {n} check-ins.", missed - 1).format(n=missed - 1))
    lines.append(tr.gettext("How are you today? Pick a mood 👇 or send me a selfie 📸"))
    if streak >= 2:
        lines.append(tr.ngettext("🔥 {n} day in a row", "🔥 {n} days in a row", streak).format(n=streak))
    return "\n".join(lines)


def weekly_recap(tr: Tr, counts: dict[str, int]) -> str:
    """Once a week, before the check-in: moods of the last 7 days, from the diary."""
    total = sum(counts.values())
    if not total:
        return tr.gettext("📅 No moods this week — today is a good day to start.")
    parts = ", ".join(f"{mood_label(tr, m)} {counts[m]}" for m in MOODS if counts.get(m))
    return tr.ngettext("📅 Your week: {n} mood — {counts}.", "📅 Your week: {n} moods — {counts}.",
                       total).format(n=total, counts=parts)


def group_mood_reply(tr: Tr, n_faces: int, counts: dict[str, int], mood: str, pick: Pick, read: int) -> str:
    """A group photo: every face read (the `read` largest of `n_faces`), one song for the room."""
    parts = ", ".join(f"{counts[m]} {escape(mood_name(tr, m))}" for m in sorted(MOODS, key=lambda m: -counts.get(m, 0))
                      if counts.get(m))
    head = tr.ngettext("I see {n} face: {counts} — here's something {emoji} <b>{mood}</b> for the room.",
                       "I see {n} faces: {counts} — here's something {emoji} <b>{mood}</b> for the room.",
                       n_faces).format(n=n_faces, counts=parts, emoji=MOOD_EMOJI.get(mood, ""),
                                       mood=escape(mood_name(tr, mood)))
    if read < n_faces:
        head += "\n" + tr.ngettext("(I read the largest {n}.)", "(I read the {n} largest.)", read).format(n=read)
    if pick.restarted:
        head += "\n" + exhausted(tr, pick.mood)
    return f"{head}\n\n{song_lines(tr, pick.song, pick.details)}"
