"""The shipped song-mood model and the song-table helpers it is trained with."""
from __future__ import annotations

import json

import joblib
import numpy as np
import pytest

from recommender.paths import MODELS_DIR
from recommender.types import MOODS
from shared_data import require
from training.songs_data import (AUDIO_FEATURES, engineer, engineered_names, load_data_moods,
                                 normalise_artist, normalise_title, song_key)

MODEL = MODELS_DIR / "song_mood.joblib"
CARD = MODELS_DIR / "song_mood.card.json"


def test_card_names_the_features_the_shipped_model_takes():
    card = json.loads(CARD.read_text())
    model = joblib.load(MODEL)
    assert card["input_features"] == list(AUDIO_FEATURES)
    assert model.n_features_in_ == len(AUDIO_FEATURES)
    assert list(card["classes"]) == list(model.classes_)


def test_shipped_model_labels_typical_songs_sensibly():
    model = joblib.load(MODEL)
    assert set(model.classes_) == set(MOODS)
    # prototypes from the moods' typical audio (piano piece, club track, upbeat pop, slow ballad)
    rows = {
        "calm": dict(danceability=0.35, acousticness=0.97, energy=0.08, instrumentalness=0.92,
                     liveness=0.1, valence=0.1, loudness=-24, speechiness=0.04, tempo=100),
        "energetic": dict(danceability=0.55, acousticness=0.002, energy=0.95, instrumentalness=0.0,
                          liveness=0.2, valence=0.4, loudness=-4, speechiness=0.07, tempo=128),
        "happy": dict(danceability=0.75, acousticness=0.1, energy=0.7, instrumentalness=0.0,
                      liveness=0.1, valence=0.9, loudness=-6, speechiness=0.04, tempo=118),
        "sad": dict(danceability=0.45, acousticness=0.7, energy=0.3, instrumentalness=0.0,
                    liveness=0.1, valence=0.2, loudness=-10, speechiness=0.03, tempo=80),
    }
    X = np.array([[r[f] for f in AUDIO_FEATURES] for r in rows.values()])
    assert list(model.predict(X)) == list(rows)
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1) and (proba.max(axis=1) > 0.5).all()


def test_shipped_model_agrees_with_most_human_labels():
    df = load_data_moods(require("music", "data_moods.csv"))
    pred = joblib.load(MODEL).predict(df[list(AUDIO_FEATURES)].to_numpy(float))
    assert (pred == df["mood"].to_numpy()).mean() > 0.8


def test_engineer_shape_and_guard():
    X = np.full((3, len(AUDIO_FEATURES)), 0.5)
    assert engineer(X).shape == (3, len(engineered_names()))
    assert np.isfinite(engineer(np.zeros((1, 9)))).all()  # exact 0/1 values do not blow up
    with pytest.raises(ValueError):
        engineer(np.zeros((2, 10)))


@pytest.mark.parametrize("a,b", [
    ("Bad Guy", "bad guy"),
    ("Memories - Dillon Francis Remix", "Memories"),
    ("Hey Jude - Remastered 2015", "Hey Jude"),
    ("I Don't Care (with Justin Bieber)", "I Don’t Care"),
    ("Señorita [feat. X]", "Senorita"),
    ("Sunflower feat. Swae Lee", "Sunflower"),
])
def test_title_variants_count_once(a, b):
    assert normalise_title(a) == normalise_title(b.replace("’", "'"))


def test_artist_and_key():
    assert normalise_artist("Ed Sheeran & Justin Bieber") == normalise_artist("ed sheeran")
    assert song_key("Hello - Remaster", "Adele") == song_key("Hello", "ADELE")
    assert song_key("Hello", "Adele") != song_key("Hello", "Lionel Richie")
