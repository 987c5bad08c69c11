"""Song-mood model selection on data_moods.csv (686 hand-labelled songs), repeated stratified CV.

    python -m training.evaluate_songs          # the CV table; last line: cv_accuracy=<shipped model>
    python -m training.evaluate_songs --keras  # plus the seed model run in Keras itself (slower)
    python -m training.evaluate_songs --save   # also fit the best candidate on all songs and write
                                               # models/song_mood.joblib + models/song_mood.card.json

The seed's model (9 audio features → Dense 8 ReLU → Dense 4 softmax, Adam, 300 epochs, batch 200,
min-max scaled) is reproduced with scikit-learn's MLPClassifier of exactly that shape and training
setup rather than Keras: same architecture, loss and optimiser, 15 fits in seconds instead of minutes.
Every candidate is a full pipeline, so scaling is fitted inside each training fold (the seed scaled
on all rows before splitting).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from recommender.paths import MODELS_DIR

from .songs_data import AUDIO_FEATURES, data_moods_path, engineer, engineered_names, load_data_moods

MODEL_PATH = MODELS_DIR / "song_mood.joblib"
CARD_PATH = MODELS_DIR / "song_mood.card.json"
N_SPLITS, N_REPEATS, CV_SEED = 5, 3, 0

# Measured during model selection (same repeated CV unless said), kept out of the table for time;
# all below the shipped candidate.
TRIED = {
    "the seed model in Keras itself (--keras)": "0.7911 ± 0.0267, like its MLPClassifier replica",
    "track length and key as extra features": "0.816-0.822, no gain",
    "quantile / spline / 4-bin encodings + logistic regression": "0.793-0.820",
    "degree-2 polynomial features, L2 or L1 logistic regression": "0.790-0.815",
    "RBF SVC grid (C 0.5-4, gamma 0.02-scale) on engineered features": "0.804-0.815",
    "gradient boosting, extra trees, k-NN, Gaussian process, QDA/LDA": "0.785-0.802",
    "soft voting and stacking of the above": "0.815-0.822",
    "self-training with the 28k unlabelled tracks": "0.795-0.822",
    "dropping training songs the model finds mislabelled": "0.810-0.815",
    "greedy choice of pairwise feature products": "0.836 on the CV used to choose them, but "
        "0.815 in nested CV (base 0.819): selection noise, rejected",
    # second round (no tuning on the outer folds: fixed pipelines, or tuning nested inside each fold)
    "bagged logistic regression (50 bootstrap fits on the engineered features)": "0.8212 ± 0.0250",
    "logistic regression with C chosen by an inner 5-fold CV in each outer fold "
        "(LogisticRegressionCV, C 0.01-100)": "0.8183 ± 0.0265 (nested); fixed C=0.3 / 3 give "
        "0.8163 / 0.8183, so the shipped C=1 sits on a narrow peak",
    "class-balanced weights": "0.8227 ± 0.0266",
    "music-emotion features added (tempo folded into 90-180 BPM, danceability x valence, "
        "acousticness x instrumentalness, loudness as amplitude), each alone or all four": "0.8188-0.8231, "
        "none above the base",
    "Nystroem RBF map (300 components, gamma 0.02) + logistic regression": "0.8086 ± 0.0259",
    "HistGradientBoosting (depth 3, rate 0.05, 200 rounds; scikit-learn has no monotonic "
        "constraints for multiclass)": "0.8032 ± 0.0295",
    "LDA, plain / shrinkage, on the engineered features": "0.7964 / 0.8003",
    "one-vs-rest / one-vs-one logistic regression": "0.7949 / 0.8193",
    "time_signature": "not tried: the 28k catalog table lacks it, so the model could not label it",
    # third round (seed-0 CV; the shipped model scores 0.8241 / 0.8173 / 0.8197 on CV seeds 0 / 1 / 2)
    "Yeo-Johnson power transform + logistic regression, on the 9 raw / 18 engineered / raw and "
        "transformed side by side": "0.8013 / 0.8188 / 0.8134",
    "elastic-net logistic regression (saga, C=1, l1_ratio 0.2 / 0.5 / 0.8)": "0.8226 / 0.8207 / 0.8178",
    "linear SVM (C=0.1): sigmoid-calibrated / Crammer-Singer / one-vs-rest": "0.7940 / 0.7969 / 0.7925",
    "features as ranks against the 28k table's distribution (quantiles fitted on it, no labels): "
        "alone as normal scores / uniform; beside the engineered ones": "0.8013 / 0.7974; 0.8130-0.8178",
    "engineered features standardised with the 28k table's statistics": "0.8188 ± 0.0209",
    "one more product beside the engineered features: tempo x energy, energy x danceability, "
        "energy², valence², valence x danceability x energy, energy x (1 - valence), loudness - 20 energy, "
        "loudness x logit(energy), loudness x valence, loudness x acousticness, loudness²": "0.8193-0.8256",
    "loudness x energy beside the engineered features": "0.8295 / 0.8256 / 0.8246 on CV seeds 0 / 1 / 2, "
        "above the shipped model on each but below 0.83, and picked out of the dozen products above; "
        "choosing the product by an inner CV inside each outer fold gives 0.8256 / 0.8173 / 0.8256 "
        "(loudness x energy picked in 8 / 1 / 9 of 15 folds): at most a few thousandths, not shipped; "
        "with energy x danceability or tempo x energy as well 0.8275 / 0.8256, on the 9 raw features 0.8081",
    "pairwise products of energy, valence, loudness, danceability, acousticness beside the engineered "
        "features (C 1 / 0.3)": "0.8241 / 0.8261",
    "nested dichotomies (arousal {calm, sad} | {happy, energetic} first, then a binary model in each; "
        "also the two other pairings)": "0.8227; 0.7551 / 0.7906",
    "the same with a degree-2 polynomial model for happy vs energetic (C 0.1 / 0.03)": "0.8095 / 0.8154",
    "per-class offsets on the log-probabilities tuned for accuracy on inner out-of-fold predictions":
        "0.8100 ± 0.0276",
    "label smoothing by sample weights (eps 0.05 / 0.15 / 0.3)": "0.8105 / 0.7886 / 0.7852",
    "genre / subgenre probabilities of models trained on the 28k table's playlist genres (logistic "
        "regression or gradient boosting, fitted without mood labels) beside the engineered features":
        "0.8115-0.8241",
    "log-responsibilities of an 8 / 16-component Gaussian mixture fitted on the 28k table": "0.8105 / 0.8042",
    "bagged MLPs: 10 x (16 units, alpha 1) / 10 x (32 units, alpha 3) with early stopping; 10 x (32, "
        "alpha 3) without": "0.7327 / 0.7575; 0.8168",
    "10 MLPs (16 units, alpha 1, seeds 0-9) averaged; logistic regression (weight 5) + 5 of them": "0.8227 / 0.8241",
    # fourth round: every figure on CV seeds 0 / 1 / 2 (shipped: 0.8241 / 0.8173 / 0.8197); where a
    # setting was picked from a grid, an inner CV inside each outer training fold picked it (nested)
    "Explainable Boosting Machine (interpret-core 0.7.8, multiclass, library defaults): no pairs on the "
        "9 raw / 18 engineered features; 3 pairs (8 bags) on raw / engineered": "0.8139 / 0.8100 / 0.8144; "
        "0.8178 / 0.8202 / 0.8182; 0.8154 / 0.8120 / 0.8114; 0.8149 / 0.8178 / 0.8192; pairs 0 or 3 chosen "
        "by an inner 3-fold CV (nested): 0.8153 / 0.8207 / 0.8090",
    "one-vs-rest binary HistGradientBoosting with monotonic constraints fixed before scoring (calm: up in "
        "acousticness and instrumentalness, down in energy and loudness; energetic: up in energy and "
        "loudness, down in acousticness; happy: up in valence; sad: down in valence), probabilities "
        "normalised (lr 0.05, 200 rounds, 8 leaves): constrained / unconstrained / constrained and "
        "sigmoid-calibrated / 100 rounds, 4 leaves, l2 1": "0.7998 / 0.8066 / 0.8061; 0.7993 / 0.8027 / "
        "0.8080; 0.8110 / 0.8129 / 0.8042; 0.8013 / 0.8023 / 0.8032",
    "CatBoost (ordered boosting, meant for small tables), library defaults (1000 rounds, depth 6): 9 raw / "
        "18 engineered features": "0.8090 / 0.8188 / 0.8158; 0.8110 / 0.8120 / 0.8081",
    "log(track length) / length in minutes beside the engineered features (the 28k table has "
        "duration_ms)": "0.8197 / 0.8197 / 0.8231; 0.8222 / 0.8207 / 0.8222",
    "sparse GAM: the engineered features plus cubic B-splines (quantile knots) on the 3 or 4 raw features "
        "with the largest ANOVA F in the training fold (energy, loudness, acousticness, instrumentalness), "
        "3-6 knots": "0.8066-0.8241 / 0.7993-0.8207 / 0.8047-0.8207 (3 features, 4 knots: 0.8241 / 0.8173 / "
        "0.8207); features and knots chosen by an inner 5-fold CV (nested): 0.8149 / 0.8149 / 0.8153",
    "the same with splines on valence, energy, danceability (3 / 4 / 5 knots)": "0.8192 / 0.8217 / 0.8212; "
        "0.8173 / 0.8227 / 0.8183; 0.8183 / 0.8183 / 0.8129; knots by inner CV (nested): 0.8178 / 0.8173 / 0.8183",
    "soft vote, equal weights, of the shipped logistic regression and the engineered EBM without pairs":
        "0.8236 / 0.8222 / 0.8265: above the shipped model on seeds 1 and 2, not on 0, far from 0.83",
    "Russell's circumplex: angle (cos, sin) and radius of (valence, energy) around (0.5, 0.5) / the "
        "training fold's medians, beside the engineered features": "0.8192 / 0.8149 / 0.8188; "
        "0.8236 / 0.8188 / 0.8246",
    # fifth round (`python -m bench.song_ceiling` prints the last three of it); CV seeds 0 / 1 / 2 where
    # three figures are given. Tuned-default deep tabular models ran in a separate environment (torch
    # 2.13 CPU, pytabkit 1.7.3), library defaults, nothing chosen on the folds.
    "RealMLP (pytabkit RealMLP_TD_Classifier, meta-learned defaults): 9 raw / 18 engineered features":
        "0.7940 / 0.8013 / 0.8042; 0.8037 / 0.8086 / 0.8139",
    "TabM (pytabkit TabM_D_Classifier, recommended defaults): 9 raw / 18 engineered features":
        "0.8086 / 0.8125 / 0.8090; 0.8178 / 0.8188 / 0.8114",
    "LightGBM with pytabkit's tuned defaults (LGBM_TD_Classifier): 9 raw / 18 engineered features":
        "0.7906 / 0.8066 / 0.7959; 0.7979 / 0.8139 / 0.8008",
    "pytabkit Ensemble_TD_Classifier (tuned-default ensemble): 9 raw / 18 engineered features":
        "0.7988 / 0.8120 / 0.8003; 0.7984 / 0.8115 / 0.8202",
    "soft vote, equal weights, of the shipped logistic regression and each of the eight models above":
        "0.8081-0.8241 / 0.8129-0.8300 / 0.8119-0.8241; the best, with TabM on the engineered features, "
        "0.8241 / 0.8300 / 0.8207: seed 0 no better than the shipped model alone",
    "neighbourhood components analysis (6 dimensions) + distance-weighted k-NN, k 5 / 10 / 20, on the "
        "engineered features": "0.7784 / 0.7877 / 0.7887 (CV seed 0)",
    "the shipped model under 30 CV seeds (0-29)": "mean 0.8184, sd 0.0032, range 0.8090-0.8246; none "
        "reaches 0.83, and seed 0 is near the top",
    "learning curve (training folds subsampled)": "0.7985 at 137 songs, 0.8159 at 384, 0.8145 at 549: "
        "flat from about 400 songs on",
    "release year / popularity / both beside the engineered features (excluded)": "0.8382 / 0.8251 / "
        "0.8455 (seed 0); year lifts CV because calm and sad songs were collected from 2018-2020 "
        "releases: fitted on all songs, it labels 88-89 % of the 28k table's 1960s-1980s songs happy "
        "(audio alone: 51-68 %)",
}


def _engineered(*steps) -> Pipeline:
    return make_pipeline(FunctionTransformer(engineer), StandardScaler(), *steps)


class KerasSeedMLP(BaseEstimator, ClassifierMixin):
    """The seed's Keras model itself: Dense(8, relu) → Dense(4, softmax), Adam, 300 epochs, batch 200."""

    def __init__(self, epochs: int = 300, batch_size: int = 200, seed: int = 0) -> None:
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed

    def fit(self, X, y):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
        import keras  # only for --keras: TensorFlow is slow to import

        keras.utils.set_random_seed(self.seed)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.model_ = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(8, activation="relu"),
                                        keras.layers.Dense(len(self.classes_), activation="softmax")])
        self.model_.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        self.model_.fit(np.asarray(X, "float32"), codes, epochs=self.epochs, batch_size=self.batch_size,
                        verbose=0)
        return self

    def predict_proba(self, X):
        return np.asarray(self.model_(np.asarray(X, "float32"), training=False))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def candidates(keras_seed: bool = False) -> dict[str, Pipeline | VotingClassifier]:
    logreg = _engineered(LogisticRegression(C=1.0, max_iter=5000))
    mlp = _engineered(MLPClassifier((8,), alpha=1.0, max_iter=3000, random_state=0))
    seed_keras = {"seed_keras_8relu_adam": make_pipeline(MinMaxScaler(), KerasSeedMLP())} if keras_seed else {}
    return {
        **seed_keras,
        "seed_mlp_8relu_adam": make_pipeline(
            MinMaxScaler(),
            MLPClassifier((8,), activation="relu", solver="adam", batch_size=200, max_iter=300,
                          random_state=0)),
        "logreg_raw": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)),
        "svc_rbf_raw": make_pipeline(StandardScaler(), SVC(C=1.0)),
        "random_forest_raw": RandomForestClassifier(300, random_state=0),
        "mlp_8_engineered": mlp,
        "svc_rbf_engineered": _engineered(SVC(C=1.0, gamma=0.02)),
        "logreg_engineered": logreg,
        "vote_logreg_mlp_engineered": VotingClassifier([("logreg", logreg), ("mlp", mlp)], voting="soft"),
    }


def repeated_cv(seed: int = CV_SEED) -> RepeatedStratifiedKFold:
    """The one CV scheme every song-mood figure is reported with (seed 0 unless said)."""
    return RepeatedStratifiedKFold(n_splits=N_SPLITS, n_repeats=N_REPEATS, random_state=seed)


def cross_validate(models: dict, X: np.ndarray, y: np.ndarray) -> dict[str, dict]:
    cv = repeated_cv()
    results = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the seed's 300 epochs stop early
            scores = cross_val_score(model, X, y, cv=cv, n_jobs=1)
        results[name] = {"mean": float(scores.mean()), "sd": float(scores.std()),
                         "seconds": round(time.perf_counter() - t0, 1)}
        print(f"{name:28s} {scores.mean():.4f} ± {scores.std():.4f}   ({results[name]['seconds']}s)",
              flush=True)
    return results


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--save", action="store_true", help="fit the best candidate and write it to models/")
    ap.add_argument("--keras", action="store_true",
                    help="also run the seed model in Keras itself (slow: TensorFlow, 15 x 300 epochs)")
    args = ap.parse_args(argv)

    df = load_data_moods()
    X, y = df[list(AUDIO_FEATURES)].to_numpy(float), df["mood"].to_numpy()
    print(f"data_moods.csv: {len(df)} songs, {dict(df['mood'].value_counts().sort_index())}")
    print(f"repeated stratified {N_SPLITS}-fold CV x {N_REPEATS} repeats (seed {CV_SEED}); accuracy mean ± sd over "
          f"{N_SPLITS * N_REPEATS} folds")
    models = candidates(keras_seed=args.keras)
    results = cross_validate(models, X, y)
    best = max(results, key=lambda k: results[k]["mean"])

    if args.save:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = clone(models[best]).fit(X, y)
        MODELS_DIR.mkdir(parents=True, exist_ok=True)
        joblib.dump(fitted, MODEL_PATH, compress=3)
        card = {
            "model": "song_mood",
            "task": "Spotify audio features → music mood",
            "classes": [str(c) for c in fitted.classes_],
            "candidate": best,
            "pipeline": re.sub(r" at 0x[0-9a-f]+", "", repr(fitted)),
            "input_features": list(AUDIO_FEATURES),
            "engineered_features": engineered_names() if "engineered" in best else list(AUDIO_FEATURES),
            "excluded_features": {
                "popularity, release year, album, artist": "encode which playlist a song was collected "
                "from (the label's source), not how it sounds",
                "length, key": "tried; no gain in CV, and not needed",
            },
            "training_data": {"path": "../shared/data/music/data_moods.csv", "rows": int(len(df)),
                              "sha256": _sha256(data_moods_path())},
            "cv": {"scheme": f"RepeatedStratifiedKFold(n_splits={N_SPLITS}, n_repeats={N_REPEATS}, "
                             f"random_state={CV_SEED})",
                   "accuracy_mean": round(results[best]["mean"], 4),
                   "accuracy_sd": round(results[best]["sd"], 4)},
            "candidates": {k: {"mean": round(v["mean"], 4), "sd": round(v["sd"], 4)} for k, v in results.items()},
            "note": "every candidate in the table is a fixed pipeline (library defaults or the seed's "
                    "settings, nothing tuned on these folds); the best is then chosen on the same CV it "
                    "is reported with, so its mean is slightly optimistic (with C chosen by an inner CV "
                    "the same model scores 0.8183 nested). The issue's target of 0.83 is not reached: "
                    "nothing in also_measured reaches it without selection on the outer folds",
            "also_measured": TRIED,
            "scikit_learn": sklearn.__version__,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": "python -m training.evaluate_songs --save",
        }
        CARD_PATH.write_text(json.dumps(card, indent=2) + "\n")
        print(f"saved {best} to {MODEL_PATH} and {CARD_PATH}")
        shipped = best
    elif CARD_PATH.exists():
        shipped = json.loads(CARD_PATH.read_text()).get("candidate", best)
        if shipped not in results:
            shipped = best
    else:
        shipped = best
    print(f"shipped model: {shipped}")
    print(f"cv_accuracy={results[shipped]['mean']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
