"""Build data/catalog.csv: hand-labelled songs plus confidently model-labelled ones, deduplicated.

    python -m training.build_catalog                       # data_moods + spotify_songs (~28k tracks)
    python -m training.build_catalog --hand-labelled-only  # only the 686 human-labelled songs
    python -m training.build_catalog --spotify-playlist ID [ID ...]   # also add playlists' tracks
                                      (needs SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET)

How a song gets in:
* The 686 songs of data_moods.csv keep their human label (confidence 1.0); they win every duplicate.
* Every other track is labelled by the shipped model (models/song_mood.joblib); it is kept when the
  model's probability for its mood reaches that mood's threshold AND the song passes the mood's
  sanity rule, a coarse range check taken from the human-labelled songs (MOOD_RULES), so that the
  model is not trusted far outside what it was trained on.
* Calm is scarce in the pop/rap/rock/EDM/Latin table. A track whose audio matches the calm profile of
  the human-labelled calm songs (acousticness >= 0.5, energy <= 0.4, instrumentalness >= 0.5: 172 of
  the 185 human songs with that profile are calm, 13 sad) is labelled calm even where the model says
  otherwise: those are quiet instrumental (mostly lo-fi) tracks brighter than any human-labelled calm
  song, where the model extrapolates to "sad". Their confidence stays the model's calm probability,
  so they come last among calm songs. Nothing else is pushed into calm.
* Duplicates: by track id, then by normalised title + lead artist (remixes, remasters, "feat."
  variants count once); the human-labelled copy wins, else the most popular one.
* Curation (training.song_curation, docs/song-model.md "Fit"): calm is widened from soft, acoustic
  or instrumental rows of every genre (CALM_WIDE; label_source "model+calm-wide"); heartbreak
  titles leave happy; energetic keeps danceable songs; every song gets its flags (christmas,
  explicit, dark), which the bot applies at serve time. Human-labelled songs get the genre and
  flags of their copy in the big table where it has one. Titles are written cleaned
  (recommender.music.titles). The audit set data/song_audit.csv is never read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from recommender.music.titles import clean_title
from recommender.paths import CATALOG_PATH
from recommender.types import MOODS

from .evaluate_songs import MODEL_PATH
from .song_curation import CALM_WIDE, ENERGETIC_DANCE_MIN, add_flags, has_flag
from .songs_data import AUDIO_FEATURES, CATALOG_COLUMNS, load_data_moods, load_spotify_songs, song_key

# Minimum model probability per mood. Happy is the model's most over-predicted class (it absorbs
# much of energetic), so it needs more certainty; calm is rare and guarded by its rule instead.
THRESHOLDS: dict[str, float] = {"calm": 0.5, "happy": 0.7, "energetic": 0.6, "sad": 0.6}

# Sanity rules per mood, from the human-labelled songs (share of them that pass, measured):
# calm 0.98, energetic 0.98; the sad and happy rules only cut the extremes the labels never reach.
MOOD_RULES: dict[str, str] = {
    "calm": "energy <= 0.55 and (acousticness >= 0.3 or instrumentalness >= 0.5)",
    "energetic": "energy >= 0.6",
    "happy": "valence >= 0.25 and energy >= 0.4",
    "sad": "valence <= 0.7 and energy <= 0.8",
}
CALM_PROFILE = "acousticness >= 0.5 and energy <= 0.4 and instrumentalness >= 0.5"
MIN_PER_MOOD, MIN_TOTAL = 500, 10_000


_TABLE_ONLY = ("genre", "subgenre", "album", "playlists")


def hand_labelled(tracks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The human-labelled songs; with the big table, each takes its copy's genre, album and
    playlists there (by track id, else by title + lead artist), for genre turns and flags."""
    df = load_data_moods()
    df["confidence"] = 1.0
    df["label_source"] = "human"
    if tracks is not None:
        keyed = tracks.assign(_key=[song_key(t, a) for t, a in zip(tracks["name"], tracks["artist"])])
        by_id = keyed.drop_duplicates("track_id").set_index("track_id")
        by_key = keyed.sort_values(["popularity", "track_id"], ascending=[False, True]) \
            .drop_duplicates("_key").set_index("_key")
        keys = [song_key(t, a) for t, a in zip(df["name"], df["artist"])]
        for col in _TABLE_ONLY:
            own = df["track_id"].map(by_id[col])
            df[col] = own.where(own.notna(), pd.Series(keys, index=df.index).map(by_key[col])).fillna("")
    return df


def widen_calm(labelled: pd.DataFrame) -> pd.DataFrame:
    """Soft, acoustic or instrumental rows (CALM_WIDE) of every genre become calm, unless their
    titles mark them explicit, dark or heartbreak: the calm of stress, anger and tiredness."""
    out = labelled.copy()
    clean = ~(has_flag(out, "explicit") | has_flag(out, "dark") | has_flag(out, "heartbreak"))
    wide = out.eval(CALM_WIDE).to_numpy() & clean.to_numpy() & (out["mood"] != "calm").to_numpy()
    out.loc[wide, "mood"] = "calm"
    out.loc[wide, "label_source"] = out.loc[wide, "label_source"] + "+calm-wide"
    out.loc[wide, "confidence"] = out.loc[wide, "p_calm"]
    return out


def curate(df: pd.DataFrame) -> pd.DataFrame:
    """The fit rules that move or drop a song (training.song_curation): heartbreak titles are
    neither happy nor calm (sad when they pass sad's rule, else out); calm keeps no explicit or
    dark song (it is what stress and anger get); energetic keeps danceable songs."""
    df = df.copy()
    heartbreak = has_flag(df, "heartbreak") & df["mood"].isin(["happy", "calm"])
    to_sad = heartbreak & df.eval(MOOD_RULES["sad"])
    df.loc[to_sad, "mood"] = "sad"
    df.loc[to_sad, "label_source"] = df.loc[to_sad, "label_source"] + "+heartbreak"
    undanceable = (df["mood"] == "energetic") & (df["danceability"] < ENERGETIC_DANCE_MIN)
    harsh_calm = (df["mood"] == "calm") & (has_flag(df, "explicit") | has_flag(df, "dark"))
    return df[~((heartbreak & ~to_sad) | undanceable | harsh_calm)]


def label_tracks(model, tracks: pd.DataFrame, source: str = "model") -> pd.DataFrame:
    """Add mood, confidence and label_source from the model (plus the calm-profile rule)."""
    out = tracks.copy()
    proba = model.predict_proba(out[list(AUDIO_FEATURES)].to_numpy(float))
    classes = np.asarray(model.classes_)
    order = np.argsort(-proba, axis=1)
    out["mood"] = classes[order[:, 0]]
    out["confidence"] = proba[np.arange(len(out)), order[:, 0]]
    out["label_source"] = source
    p_calm = proba[:, int(np.flatnonzero(classes == "calm")[0])]
    out["p_calm"] = p_calm
    rescue = out.eval(CALM_PROFILE).to_numpy() & (out["mood"].to_numpy() != "calm")
    out.loc[rescue, "mood"] = "calm"
    out.loc[rescue, "confidence"] = p_calm[rescue]
    out.loc[rescue, "label_source"] = f"{source}+calm-profile"
    return out


def keep_confident(labelled: pd.DataFrame) -> pd.DataFrame:
    keep = np.zeros(len(labelled), dtype=bool)
    for mood in MOODS:
        is_mood = (labelled["mood"] == mood).to_numpy()
        rule = labelled.eval(MOOD_RULES[mood]).to_numpy()
        rescued = labelled["label_source"].str.contains("calm-profile|calm-wide").to_numpy()
        sure = labelled["confidence"].to_numpy() >= THRESHOLDS[mood]
        keep |= is_mood & rule & (sure | rescued)
    return labelled[keep]


def deduplicate(df: pd.DataFrame) -> pd.DataFrame:
    """Human labels win, then popularity, then confidence; one row per track id and per song."""
    df = df.assign(_human=(df["label_source"] == "human").astype(int),
                   _key=[song_key(t, a) for t, a in zip(df["name"], df["artist"])])
    df = df.sort_values(["_human", "popularity", "confidence", "track_id"],
                        ascending=[False, False, False, True], kind="mergesort")
    df = df.drop_duplicates("track_id").drop_duplicates("_key")
    return df.drop(columns=["_human", "_key"])


def build(model, extra: pd.DataFrame | None = None, hand_only: bool = False) -> pd.DataFrame:
    tracks = None if hand_only else load_spotify_songs()
    parts = [add_flags(hand_labelled(tracks))]
    if tracks is not None:
        parts.append(keep_confident(widen_calm(label_tracks(model, add_flags(tracks)))))
    if extra is not None and len(extra):
        parts.append(keep_confident(widen_calm(label_tracks(model, add_flags(extra), source="spotify-playlist"))))
    df = curate(deduplicate(pd.concat(parts, ignore_index=True)))
    df = df.assign(name=df["name"].map(clean_title))
    df["mood"] = pd.Categorical(df["mood"], categories=list(MOODS))
    df = df.sort_values(["mood", "confidence", "popularity", "track_id"], ascending=[True, False, False, True])
    df["mood"] = df["mood"].astype(str)
    return df.reset_index(drop=True)


def write_catalog(df: pd.DataFrame, path: Path) -> None:
    """Write atomically: a half-written catalog must never replace a good one."""
    out = df.loc[:, list(CATALOG_COLUMNS)].copy()
    for col in ("valence", "energy", "acousticness", "instrumentalness", "danceability"):
        out[col] = out[col].round(4)
    out["tempo"] = out["tempo"].round(1)
    out["confidence"] = out["confidence"].round(4)
    out["genre"] = out["genre"].fillna("")
    out["name"] = out["name"].map(clean_title)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)


def report(df: pd.DataFrame) -> str:
    lines = ["per-mood counts (label source):"]
    counts = df.groupby(["mood", "label_source"]).size().unstack(fill_value=0)
    counts["total"] = counts.sum(axis=1)
    lines.append(counts.reindex(list(MOODS)).to_string())
    lines.append(f"total distinct songs: {len(df)}")
    lines.append("\nsanity table (means per mood):")
    means = df.groupby("mood")[["valence", "energy", "acousticness", "instrumentalness", "tempo"]].mean()
    lines.append(means.reindex(list(MOODS)).round(3).to_string())
    lines.append("\nexamples (the most popular of each label source):")
    for mood in MOODS:
        sub = df[df["mood"] == mood]
        ex = pd.concat([g.nlargest(3, "popularity") for _, g in sub.groupby("label_source")])
        for r in ex.itertuples():
            lines.append(f"  {mood:9s} {r.name[:40]:40s} — {r.artist[:24]:24s} conf={r.confidence:.2f} "
                         f"v={r.valence:.2f} e={r.energy:.2f} a={r.acousticness:.2f} [{r.label_source}]")
    short = [m for m in MOODS if (df["mood"] == m).sum() < MIN_PER_MOOD]
    for mood in short:
        lines.append(f"\nNOTE: only {(df['mood'] == mood).sum()} genuine {mood} songs "
                     f"(< {MIN_PER_MOOD}); the source tables hold no more that pass the rules.")
    if len(df) < MIN_TOTAL:
        lines.append(f"NOTE: {len(df)} songs in all (< {MIN_TOTAL}).")
    return "\n".join(lines)


def _fetch_spotify(playlist_ids: list[str]) -> pd.DataFrame | None:
    """The playlists' tracks with audio features, or None after printing why (one line)."""
    from recommender.music.spotify import SpotifySettings, make_client

    from .spotify_playlists import SpotifyUnavailable, fetch_playlist_tracks

    settings = SpotifySettings.from_env()
    if settings is None:
        print("error: --spotify-playlist needs SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET",
              file=sys.stderr)
        return None
    try:
        rows = fetch_playlist_tracks(make_client(settings), playlist_ids)
    except SpotifyUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    columns = ["track_id", "name", "artist", "popularity", "year", "genre", *AUDIO_FEATURES]
    return pd.DataFrame(rows, columns=columns)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=CATALOG_PATH)
    ap.add_argument("--model", type=Path, default=MODEL_PATH)
    ap.add_argument("--hand-labelled-only", action="store_true",
                    help="only the 686 songs of data_moods.csv with their human labels")
    ap.add_argument("--spotify-playlist", nargs="+", metavar="ID", default=[],
                    help="also add these playlists' tracks (needs SPOTIPY_CLIENT_ID/SECRET)")
    args = ap.parse_args(argv)

    extra = None
    if args.spotify_playlist:
        extra = _fetch_spotify(args.spotify_playlist)
        if extra is None:
            print("no catalog written", file=sys.stderr)
            return 2
        print(f"fetched {len(extra)} tracks with audio features from "
              f"{len(args.spotify_playlist)} playlist(s)")

    model = None if args.hand_labelled_only and extra is None else joblib.load(args.model)
    try:
        df = build(model, extra=extra, hand_only=args.hand_labelled_only)
    except FileNotFoundError as exc:  # the song tables live outside the project (MML_DATA_DIR)
        print(f"error: {exc.filename} not found: set MML_DATA_DIR to the shared data folder "
              "(README, Tests); no catalog written", file=sys.stderr)
        return 2
    print(report(df))
    write_catalog(df, args.out)
    print(f"wrote {len(df)} songs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
