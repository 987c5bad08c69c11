"""Catalog curation from the song tables' own fields: flags and the rules that keep songs in place.

Every rule reads only what the tables carry (title, album, playlist names, playlist genre and
subgenre, audio features); the audit set (data/song_audit.csv) is never read here, so the audit
stays an independent check. Flags, written to the catalog's `flags` column and applied at serve
time (recommender.music.rules):

* christmas: the title, album or a playlist names Christmas (served in December only);
* explicit: the title is marked explicit or carries a (censored) swear word, or a playlist or
  subgenre says gangsta/explicit (kept out of happy and lift without the user's opt-in);
* dark: the title speaks of killing, death, hell, guns, drugs... or is one of a few songs known
  to be about a shooting or suicide whose titles do not say so (same opt-in as explicit).

Build-time rules (which mood a song may have):

* heartbreak titles (goodbye, tears, lonely, "without you"...) are never happy;
* energetic needs danceability >= 0.4: harsh, undanceable metal is not a Friday party;
* calm is widened from soft, acoustic or instrumental rows of any genre (CALM_WIDE): quiet,
  not rap, not heartbreak, not explicit or dark.
"""
from __future__ import annotations

import re

import pandas as pd

_WORDS = lambda *words: re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)  # noqa: E731

CHRISTMAS = _WORDS(r"christmas", r"xmas", r"x-mas", r"navidad", r"santa claus", r"jingle bells?",
                   r"sleigh", r"mistletoe", r"rudolph", r"reindeer", r"silent night", r"holy night",
                   r"let it snow", r"winter wonderland", r"noche ?buena", r"snowman", r"feliz navidad",
                   r"little drummer boy", r"deck the halls", r"o come all ye", r"joy to the world",
                   r"santa baby", r"here comes santa", r"white christmas", r"holiday season")
EXPLICIT_TITLE = re.compile(
    r"\bexplicit\b|\bf[u*]ck|\bf\*+k|\bsh[i*]t\b|\bb[i*]tch|\bn[i*]gg|\bpuss(?:y|ies)\b|\bhoes?\b"
    r"|\bmotherf|\bdick\b|\bass\b|\bthot\b|\bsex\b|\bp[o*]rn|\w\*+\w", re.IGNORECASE)
EXPLICIT_PLAYLIST = re.compile(r"gangsta|gangster|explicit|dirty|nsfw|uncensored|parental", re.IGNORECASE)
EXPLICIT_SUBGENRES = frozenset({"gangster rap"})
DARK_TITLE = _WORDS(r"kill\w*", r"murder\w*", r"dead(?:ly)?", r"death", r"die", r"dies", r"dying",
                    r"suicid\w*", r"blood\w*", r"hell", r"devil\w*", r"satan\w*", r"demons?", r"guns?",
                    r"shoot\w*", r"shot", r"bullets?", r"graves?", r"funeral", r"war", r"drugs?",
                    r"cocaine", r"overdose", r"psycho\w*", r"sickness", r"hate", r"violence",
                    r"massacre", r"knife", r"corpse", r"coffin", r"cemetery", r"pain")
# Songs about a shooting or a suicide whose titles do not say so (normalised title keys).
DARK_SONGS = frozenset({"pumped up kicks", "jeremy", "i don t like mondays", "1 800 273 8255",
                        "adam s song", "stan", "polly", "rooster", "tom s diner"})
DARK_PLAYLIST = re.compile(r"\bdark\b|goth|horror|halloween|doom|death metal", re.IGNORECASE)
HEARTBREAK_TITLE = _WORDS(r"good ?bye", r"break(?:ing)? ?up", r"broken", r"heart ?break\w*",
                          r"cry", r"cryin[g']?", r"tears?", r"lonely", r"alone", r"without (?:you|me)",
                          r"miss(?:ing)? you", r"sorry", r"let (?:me|you|it) go", r"lose you",
                          r"hurts?", r"leave me", r"left me", r"used to", r"over you", r"sad",
                          r"apologi[sz]e", r"forget (?:you|me)", r"ex", r"divorce")

ENERGETIC_DANCE_MIN = 0.4
CALM_WIDE = ("energy <= 0.55 and (acousticness >= 0.3 or instrumentalness >= 0.5) "
             "and speechiness <= 0.15 and valence >= 0.15 and loudness <= -5")


_FEAT = re.compile(r"\s*[\(\[-]\s*(?:feat|ft|with)\b.*$", re.IGNORECASE)


def flags_of(title: str, album: str = "", playlists: str = "", subgenre: str = "",
             key_title: str = "") -> str:
    """The space-separated flags of one song (see the module docstring); "" for none."""
    out = []
    title = _FEAT.sub("", title)  # a guest's name ("T-Pain") says nothing about the song
    if CHRISTMAS.search(title) or CHRISTMAS.search(album) or CHRISTMAS.search(playlists):
        out.append("christmas")
    if EXPLICIT_TITLE.search(title) or EXPLICIT_PLAYLIST.search(playlists) or subgenre in EXPLICIT_SUBGENRES:
        out.append("explicit")
    if DARK_TITLE.search(title) or key_title in DARK_SONGS or DARK_PLAYLIST.search(playlists):
        out.append("dark")
    if HEARTBREAK_TITLE.search(title):
        out.append("heartbreak")
    return " ".join(out)


def add_flags(df: pd.DataFrame) -> pd.DataFrame:
    """`flags` for every row; album, playlists and subgenre are used where the table has them."""
    from .songs_data import normalise_title

    def col(name: str) -> pd.Series:
        return df[name].fillna("").astype(str) if name in df else pd.Series("", index=df.index)

    flags = [flags_of(t, a, p, s, normalise_title(t))
             for t, a, p, s in zip(col("name"), col("album"), col("playlists"), col("subgenre"))]
    return df.assign(flags=flags)


def has_flag(df: pd.DataFrame, flag: str) -> pd.Series:
    return df["flags"].str.split().apply(lambda f: flag in f)
