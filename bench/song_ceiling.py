"""How far the song-mood data lets a model go: the figures behind "0.83 is not reached".

    python -m bench.song_ceiling [--cv-seeds 30]

Prints, for the shipped pipeline (models/song_mood.card.json → candidate):
1. its repeated stratified 5-fold x 3 CV accuracy under many CV seeds, because evaluate_songs
   reports one seed and the spread between seeds is as large as the gaps between candidates;
2. a learning curve (each outer training fold subsampled): if accuracy has stopped rising well
   before all 548 training songs are used, more songs of this kind would not lift the model, and
   neither would a more flexible one (boosting, kernels and MLPs all scored lower);
3. what the excluded metadata would do: release year and popularity added to the features raise
   CV accuracy, and the same model fitted on all 686 songs then labels the 28k table by decade,
   which shows whether year acts as a cue for how a song sounds or for which playlist it came from.
"""
from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from training.evaluate_songs import CARD_PATH, N_REPEATS, N_SPLITS, candidates, repeated_cv
from training.songs_data import AUDIO_FEATURES, load_data_moods, load_spotify_songs

TARGET = 0.83
FRACTIONS = (0.25, 0.4, 0.55, 0.7, 0.85, 1.0)


def cv_mean(model, X, y, seed: int) -> float:
    return float(cross_val_score(model, X, y, cv=repeated_cv(seed)).mean())


def learning_curve(model, X, y, fraction: float, repeats: int = 4) -> float:
    scores = []
    for seed in range(repeats):
        for train, test in StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed).split(X, y):
            if fraction < 1:
                train, _ = train_test_split(train, train_size=fraction, stratify=y[train], random_state=seed)
            scores.append((clone(model).fit(X[train], y[train]).predict(X[test]) == y[test]).mean())
    return float(np.mean(scores))


def with_metadata(model: Pipeline, extra: list[str]) -> Pipeline:
    """The shipped pipeline with metadata columns beside the audio ones: its own feature steps on the
    audio columns, the metadata standardised, its classifier on both."""
    n = len(AUDIO_FEATURES)
    columns = ColumnTransformer([("audio", clone(model[:-1]), list(range(n))),
                                 ("meta", StandardScaler(), list(range(n, n + len(extra))))])
    return make_pipeline(columns, clone(model[-1]))


def matrix(df: pd.DataFrame, extra: list[str], year_fill: float) -> np.ndarray:
    meta = df[extra].astype(float).fillna({"year": year_fill}) if extra else df[[]]
    return np.column_stack([df[list(AUDIO_FEATURES)].to_numpy(float), meta.to_numpy(float)])


def mood_share_by_decade(df: pd.DataFrame, moods: np.ndarray) -> pd.DataFrame:
    decade = ((df["year"].astype(float) // 10 * 10).astype(int).astype(str) + "s").rename("decade")
    return pd.crosstab(decade, pd.Series(moods, index=df.index, name="mood"), normalize="index").round(2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cv-seeds", type=int, default=30, help="at least 3 (part 3 reuses seeds 0-2)")
    args = p.parse_args(argv)
    if args.cv_seeds < 3:
        p.error("--cv-seeds must be at least 3")
    warnings.simplefilter("ignore", ConvergenceWarning)

    songs = load_data_moods()
    X, y = songs[list(AUDIO_FEATURES)].to_numpy(float), songs["mood"].to_numpy()
    name = json.loads(CARD_PATH.read_text())["candidate"]
    model = candidates()[name]

    means = np.array([cv_mean(model, X, y, seed) for seed in range(args.cv_seeds)])
    print(f"1. {name}, repeated stratified {N_SPLITS}-fold x {N_REPEATS}, CV seeds 0-{args.cv_seeds - 1}:")
    print(f"   seed 0 {means[0]:.4f}; over all seeds mean {means.mean():.4f} sd {means.std():.4f} "
          f"min {means.min():.4f} max {means.max():.4f}; seeds reaching {TARGET}: "
          f"{int((means >= TARGET).sum())}/{len(means)}")

    print(f"2. learning curve ({N_SPLITS}-fold x 4, each training fold subsampled, stratified):")
    for fraction in FRACTIONS:
        n_train = round(fraction * len(y) * (N_SPLITS - 1) / N_SPLITS)
        print(f"   {n_train:4d} training songs: {learning_curve(model, X, y, fraction):.4f}")

    print("3. metadata the shipped model leaves out (CV seeds 0 / 1 / 2):")
    year_fill = float(songs["year"].median())
    print("   median year by mood:", songs.groupby("mood")["year"].median().astype(int).to_dict())
    print("   audio only (shipped): " + " / ".join(f"{means[s]:.4f}" for s in range(3)))
    for extra in (["popularity"], ["year"], ["year", "popularity"]):
        richer = with_metadata(model, extra)
        scores = [cv_mean(richer, matrix(songs, extra, year_fill), y, s) for s in range(3)]
        print(f"   audio + {', '.join(extra)}: " + " / ".join(f"{s:.4f}" for s in scores))
    table = load_spotify_songs().dropna(subset=["year"])
    labellers = (("audio only (shipped)", model, []),
                 ("audio + year", with_metadata(model, ["year"]), ["year"]))
    for label, unfitted, extra in labellers:
        fitted = clone(unfitted).fit(matrix(songs, extra, year_fill), y)
        moods = fitted.predict(matrix(table, extra, year_fill))
        print(f"   28k table labelled by the model fitted on all 686 songs, {label}: mood share by decade")
        print("   " + mood_share_by_decade(table, moods).to_string().replace("\n", "\n   "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
