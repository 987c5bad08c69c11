"""Song tables → pandas frames with one schema, plus the feature engineering the mood model uses.

Both third-party tables carry the same Spotify audio features; they differ in column names.
Everything here is pure (frames in, frames out) apart from the two loaders.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.paths import shared_data_dir
from recommender.types import MOODS

# The seed's nine audio features (its notebook also fed track length; we keep to the audio ones).
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "valence",
    "loudness",
    "speechiness",
    "tempo",
)

# The catalog's columns, in order (recommender.music.catalog reads the first five and a few more).
CATALOG_COLUMNS: tuple[str, ...] = (
    "track_id", "name", "artist", "mood", "confidence", "label_source", "popularity", "year",
    "genre", "valence", "energy", "acousticness", "instrumentalness", "danceability", "tempo", "flags",
)


def data_moods_path() -> Path:
    return shared_data_dir() / "music" / "data_moods.csv"


def spotify_songs_path() -> Path:
    return shared_data_dir() / "music" / "spotify_songs.csv.gz"


def _year(release_date: pd.Series) -> pd.Series:
    return pd.to_numeric(release_date.astype(str).str.slice(0, 4), errors="coerce").astype("Int64")


def load_data_moods(path: Path | None = None) -> pd.DataFrame:
    """The 686 hand-labelled songs: common schema, `mood` lower-cased to recommender.types.MOODS."""
    df = pd.read_csv(path or data_moods_path())
    out = pd.DataFrame({
        "track_id": df["id"],
        "name": df["name"],
        "artist": df["artist"],
        "popularity": df["popularity"],
        "year": _year(df["release_date"]),
        "genre": "",
        "mood": df["mood"].str.lower(),
    })
    for col in AUDIO_FEATURES:
        out[col] = df[col].astype(float)
    assert set(out["mood"]) <= set(MOODS), set(out["mood"])
    return out


def load_spotify_songs(path: Path | None = None) -> pd.DataFrame:
    """The TidyTuesday table, one row per track id (it lists a track once per playlist).

    Genre and subgenre: the track's most frequent playlist genre and subgenre (ties by name), so
    they are deterministic; `album` and `playlists` (every playlist name, " | "-joined, sorted)
    feed the curation flags (training.song_curation).
    """
    df = pd.read_csv(path or spotify_songs_path(), keep_default_na=False, na_values=["NA"])
    genre = (
        df.groupby(["track_id", "playlist_genre"]).size().rename("n").reset_index()
        .sort_values(["track_id", "n", "playlist_genre"], ascending=[True, False, True])
        .drop_duplicates("track_id").set_index("track_id")["playlist_genre"]
    )
    subgenre = (
        df.groupby(["track_id", "playlist_subgenre"]).size().rename("n").reset_index()
        .sort_values(["track_id", "n", "playlist_subgenre"], ascending=[True, False, True])
        .drop_duplicates("track_id").set_index("track_id")["playlist_subgenre"]
    )
    playlists = df.groupby("track_id")["playlist_name"].agg(
        lambda names: " | ".join(sorted(set(names.dropna().astype(str)))))
    first = df.drop_duplicates("track_id").set_index("track_id")
    out = pd.DataFrame({
        "track_id": first.index,
        "name": first["track_name"].to_numpy(),
        "artist": first["track_artist"].to_numpy(),
        "popularity": first["track_popularity"].to_numpy(),
        "year": _year(first["track_album_release_date"]).to_numpy(),
        "genre": genre.reindex(first.index).to_numpy(),
        "subgenre": subgenre.reindex(first.index).to_numpy(),
        "album": first["track_album_name"].fillna("").astype(str).to_numpy(),
        "playlists": playlists.reindex(first.index).fillna("").to_numpy(),
    })
    for col in AUDIO_FEATURES:
        out[col] = first[col].astype(float).to_numpy()
    return out.dropna(subset=["name", "artist"]).reset_index(drop=True)


_BRACKETS = re.compile(r"\s*[\(\[].*?[\)\]]")
_DASH_SUFFIX = re.compile(r"\s+-\s+.*$")
_FEAT = re.compile(r"\s+(feat\.?|ft\.?|featuring|with)\s+.*$", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def normalise_title(title: str) -> str:
    """'Song (feat. X) - 2011 Remaster' → 'song': bracketed notes, ' - ' suffixes, feat. dropped."""
    t = _fold(title)
    t = _BRACKETS.sub("", t)
    t = _DASH_SUFFIX.sub("", t)
    t = _FEAT.sub("", t)
    t = _NON_WORD.sub(" ", t).strip()
    return t or _NON_WORD.sub(" ", _fold(title)).strip()


def normalise_artist(artist: str) -> str:
    """The lead artist only: 'A feat. B', 'A & B', 'A, B' → 'a'."""
    a = _fold(artist)
    a = re.split(r"\s*(?:,|&|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|\bx\b|\band\b)\s*", a)[0]
    return _NON_WORD.sub(" ", a).strip()


def song_key(title: str, artist: str) -> str:
    return f"{normalise_title(title)}|{normalise_artist(artist)}"


# --- feature engineering -------------------------------------------------------------------------
# Bounded [0, 1] descriptors whose information sits near the edges (instrumentalness is ~0 for
# most songs with vocals and ~0.9 for calm pieces; acousticness likewise): a logit spreads them.
_LOGIT_FEATURES = ("danceability", "acousticness", "energy", "instrumentalness", "liveness",
                   "valence", "speechiness")
_LOGIT_EPS = 1e-4


def engineer(X) -> np.ndarray:
    """The nine audio features (AUDIO_FEATURES order) → 9 raw + 7 logits + 2 interactions.

    Only audio descriptors go in: popularity, release year, album and artist are left out on
    purpose, because in data_moods they encode where a song was collected (the calm and sad
    playlists are mostly 2018-2020 releases, happy/energetic ones older and more popular), which is
    the label's source rather than how the music sounds, and would not carry over to other tables.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(AUDIO_FEATURES):
        raise ValueError(f"expected {len(AUDIO_FEATURES)} columns {AUDIO_FEATURES}, got {X.shape}")
    col = {name: X[:, i] for i, name in enumerate(AUDIO_FEATURES)}
    logits = [_logit(col[name]) for name in _LOGIT_FEATURES]
    # arousal x valence (happy vs sad among energetic songs), and "electric vs acoustic"
    inter = [col["valence"] * col["energy"], col["energy"] - col["acousticness"]]
    return np.column_stack([X, *logits, *inter])


def engineered_names() -> list[str]:
    return [*AUDIO_FEATURES, *(f"logit_{n}" for n in _LOGIT_FEATURES), "valence_x_energy",
            "energy_minus_acousticness"]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _LOGIT_EPS, 1 - _LOGIT_EPS)
    return np.log(p / (1 - p))
