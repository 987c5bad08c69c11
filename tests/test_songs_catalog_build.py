"""training.build_catalog: what ends up in the shipped catalog, and the rules that decide it."""
from __future__ import annotations

import csv

import joblib
import pandas as pd
import pytest

from recommender.paths import CATALOG_PATH
from recommender.types import MOODS
from training.build_catalog import (CALM_PROFILE, MOOD_RULES, build, deduplicate, keep_confident,
                                    label_tracks, write_catalog)
from training.evaluate_songs import MODEL_PATH
from training.song_curation import ENERGETIC_DANCE_MIN
from shared_data import require
from training.songs_data import AUDIO_FEATURES, load_data_moods, song_key


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return pd.read_csv(CATALOG_PATH, keep_default_na=False)


def test_shipped_catalog_size_and_uniqueness(shipped):
    assert len(shipped) >= 10_000
    assert shipped["track_id"].is_unique
    keys = [song_key(t, a) for t, a in zip(shipped["name"], shipped["artist"])]
    assert len(set(keys)) == len(keys)
    counts = shipped["mood"].value_counts()
    assert set(counts.index) == set(MOODS)
    assert all(counts[mood] >= 500 for mood in MOODS), counts.to_dict()


def test_every_human_label_is_kept_as_given_unless_a_fit_rule_says_why(shipped):
    songs = load_data_moods(require("music", "data_moods.csv")).set_index("track_id")
    human = songs["mood"]
    got = shipped.set_index("track_id")
    in_cat = got.loc[got.index.intersection(human.index)]
    as_given = in_cat[in_cat["label_source"] == "human"]
    assert (as_given["mood"] == human.loc[as_given.index]).all() and (in_cat["confidence"] == 1.0).all()
    moved = in_cat[in_cat["label_source"] != "human"]  # heartbreak titles leave happy and calm
    assert (moved["label_source"] == "human+heartbreak").all() and (moved["mood"] == "sad").all()
    assert human.loc[moved.index].isin(["happy", "calm"]).all()
    dropped = songs.loc[human.index.difference(got.index)]
    # only undanceable energetic songs and heartbreak titles that are not sad enough leave
    assert ((dropped["mood"] == "energetic") & (dropped["danceability"] < ENERGETIC_DANCE_MIN)
            | dropped["mood"].isin(["happy", "calm"])).all()
    assert len(as_given) >= 0.9 * len(human)


def test_every_model_labelled_song_passes_its_mood_rule(shipped):
    model_rows = shipped[shipped["label_source"] != "human"]
    for mood in MOODS:
        rows = model_rows[model_rows["mood"] == mood]
        assert len(rows) and rows.eval(MOOD_RULES[mood]).all(), mood
    calm = shipped[shipped["mood"] == "calm"]
    assert calm["energy"].mean() < 0.4 and calm["acousticness"].mean() > 0.5
    assert not calm["flags"].str.contains("explicit|dark|heartbreak").any()
    assert len(calm) >= 2000 and calm["genre"].value_counts().max() < 0.3 * len(calm)


def _track(tid, name, artist, pop=50, **audio):
    base = dict(danceability=0.5, acousticness=0.1, energy=0.7, instrumentalness=0.0, liveness=0.1,
                valence=0.6, loudness=-6.0, speechiness=0.05, tempo=120.0)
    base.update(audio)
    return dict(track_id=tid, name=name, artist=artist, popularity=pop, year=2019, genre="pop", **base)


def test_label_keep_and_dedup_on_a_small_table():
    model = joblib.load(MODEL_PATH)
    tracks = pd.DataFrame([
        _track("p1", "Sunny Day", "Band A", pop=80, valence=0.95, danceability=0.8, energy=0.7),
        _track("p2", "Sunny Day - 2011 Remaster", "Band A", pop=20, valence=0.95, danceability=0.8, energy=0.7),
        _track("p3", "Sunny Day (feat. Someone)", "band a", pop=30, valence=0.95, danceability=0.8, energy=0.7),
        _track("q1", "Quiet Piano", "Pianist", acousticness=0.97, energy=0.05, instrumentalness=0.93,
               valence=0.1, loudness=-25.0, danceability=0.3),
        # loud, electric, high-energy: must never be called calm whatever the model says
        _track("x1", "Noise", "Loud", acousticness=0.0, energy=0.99, instrumentalness=0.9, valence=0.05),
    ])
    labelled = label_tracks(model, tracks)
    assert set(labelled.columns) >= {"mood", "confidence", "label_source"}
    kept = deduplicate(keep_confident(labelled))
    moods = dict(zip(kept["track_id"], kept["mood"]))
    assert moods.get("p1") == "happy" and "p2" not in moods and "p3" not in moods
    assert moods.get("q1") == "calm"
    assert moods.get("x1") != "calm"


def test_calm_profile_rescues_only_profile_matches():
    model = joblib.load(MODEL_PATH)
    # quiet instrumental lo-fi with some brightness: the model may say sad; the profile says calm
    lofi = pd.DataFrame([_track("l1", "Lofi", "Beats", acousticness=0.8, energy=0.25,
                                instrumentalness=0.9, valence=0.55, loudness=-12.0)])
    out = label_tracks(model, lofi)
    assert lofi.eval(CALM_PROFILE).all() and out["mood"].iloc[0] == "calm"
    vocal_ballad = pd.DataFrame([_track("b1", "Ballad", "Singer", acousticness=0.85, energy=0.25,
                                        instrumentalness=0.0, valence=0.2, loudness=-9.0)])
    out = label_tracks(model, vocal_ballad)
    assert not vocal_ballad.eval(CALM_PROFILE).any()
    assert out["label_source"].iloc[0] == "model"


def test_hand_only_build_writes_a_loadable_csv(tmp_path):
    from recommender.music.catalog import Catalog

    require("music", "data_moods.csv")
    df = build(None, hand_only=True)
    path = tmp_path / "c.csv"
    write_catalog(df, path)
    with path.open() as fh:
        header = next(csv.reader(fh))
    assert header[:5] == ["track_id", "name", "artist", "mood", "confidence"]
    cat = Catalog.load(path)
    assert len(cat) == len(df) and set(cat.moods) == set(MOODS)
