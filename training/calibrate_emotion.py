"""Calibrate the served emotion model's confidence and choose when the bot should ask.

    python -m training.calibrate_emotion            # prints the figures, writes models/emotion_calibration.json
    python -m training.calibrate_emotion --dry-run  # prints only

Temperature scaling (one parameter T, softmax(log p / T)) is fitted on FER-2013 PublicTest as served
(six views), by 2-fold cross-fitting for the PublicTest figures and on all of it for the shipped T;
the real photos are never used for fitting, only to report. The mood's probability is the sum of its
emotions' probabilities. Reported: expected calibration error (15 bins) before/after, the mood decision
by summed probability against mapping the top emotion, and, on the real photos, the trade-off between
how often the bot asks ("you look sad or calm?") and how often a confident answer is wrong.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.model_selection import StratifiedKFold

from recommender.mood import MOOD_INDEX
from recommender.paths import MODELS_DIR
from recommender.types import EMOTIONS, MOODS
from recommender.vision.calibration import CALIBRATION_JSON, summed_moods, temperature_scale

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.40, 0.91, 0.05))
# Expected cost per photo when choosing the threshold: a confident wrong song costs 1; asking costs a
# tap (0.3) when the true mood is among the two offered, else it is as bad as a wrong answer.
ASK_COST, MISS_COST = 0.3, 1.0


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    def nll(t: float) -> float:
        return float(-np.log(temperature_scale(probs, t)[np.arange(len(labels)), labels] + 1e-12).mean())

    return float(minimize_scalar(nll, bounds=(0.2, 5.0), method="bounded").x)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs((pred[m] == labels[m]).mean() - conf[m].mean())
    return float(total)


@dataclass(frozen=True)
class Tradeoff:
    threshold: float
    ask_rate: float  # share of photos where the bot asks instead of answering
    wrong_rate: float  # share of all photos answered confidently and wrongly
    wrong_when_sure: float  # share of confident answers that are wrong
    top2_when_asking: float  # share of asked photos whose true mood is one of the two offered
    cost: float


def tradeoff(mood_probs: np.ndarray, mood_labels: np.ndarray, threshold: float) -> Tradeoff:
    conf, pred = mood_probs.max(1), mood_probs.argmax(1)
    ask = conf < threshold
    wrong = ~ask & (pred != mood_labels)
    top2 = np.argsort(-mood_probs, axis=1)[:, :2]
    in_top2 = (top2 == mood_labels[:, None]).any(1)
    sure = (~ask).sum()
    cost = (wrong.sum() * MISS_COST + (ask & in_top2).sum() * ASK_COST + (ask & ~in_top2).sum() * MISS_COST)
    return Tradeoff(threshold, float(ask.mean()), float(wrong.mean()),
                    float(wrong.sum() / sure) if sure else 0.0,
                    float(in_top2[ask].mean()) if ask.any() else 1.0, float(cost / len(mood_labels)))


def publictest_probs() -> tuple[np.ndarray, np.ndarray]:
    from recommender.vision.emotion import EmotionClassifier
    from training.fer_data import load_fer

    data = load_fer().split("PublicTest")
    classifier = EmotionClassifier()  # as served: the default views
    probs = np.concatenate([classifier.predict_proba(data.faces[i:i + 256]) for i in range(0, len(data.faces), 256)])
    return probs, data.labels


def photo_probs() -> tuple[np.ndarray, np.ndarray, int]:
    """The one-face real photos labelled with an emotion, through the whole served pipeline."""
    from bench.common import emotion_photos
    from recommender.pipeline import Pipeline

    pipeline = Pipeline.load(ensemble=None)  # this file calibrates the FER-2013 model alone
    probs, labels, missed = [], [], 0
    for label, data in emotion_photos():
        analysis = pipeline.analyze(data)
        if not analysis.faces:
            missed += 1
            continue
        probs.append(analysis.faces[0].scores.probs)
        labels.append(EMOTIONS.index(label))
    return np.asarray(probs), np.asarray(labels), missed


def mood_accuracy(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    mood_of = np.asarray(MOOD_INDEX)
    truth = mood_of[labels]
    return {"top_emotion": round(float((mood_of[probs.argmax(1)] == truth).mean()), 4),
            "summed": round(float((summed_moods(probs).argmax(1) == truth).mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="print the figures without writing the JSON")
    args = ap.parse_args(argv)

    pt, pt_y = publictest_probs()
    mood_of = np.asarray(MOOD_INDEX)
    # Cross-fitted PublicTest: each half scaled by the T fitted on the other half.
    pt_cal = np.zeros_like(pt)
    folds = StratifiedKFold(2, shuffle=True, random_state=0).split(pt, pt_y)
    fold_t = []
    for fit, held in folds:
        t = fit_temperature(pt[fit], pt_y[fit])
        fold_t.append(t)
        pt_cal[held] = temperature_scale(pt[held], t)
    temperature = fit_temperature(pt, pt_y)
    ph, ph_y, missed = photo_probs()
    ph_cal = temperature_scale(ph, temperature)

    report = {
        "temperature": round(temperature, 4),
        "temperature_per_fold": [round(t, 4) for t in fold_t],
        "ece": {
            "publictest_emotion": {"before": round(ece(pt, pt_y), 4), "after": round(ece(pt_cal, pt_y), 4)},
            "publictest_mood": {"before": round(ece(summed_moods(pt), mood_of[pt_y]), 4),
                                "after": round(ece(summed_moods(pt_cal), mood_of[pt_y]), 4)},
            "photos_emotion": {"before": round(ece(ph, ph_y), 4), "after": round(ece(ph_cal, ph_y), 4)},
            "photos_mood": {"before": round(ece(summed_moods(ph), mood_of[ph_y]), 4),
                            "after": round(ece(summed_moods(ph_cal), mood_of[ph_y]), 4)},
        },
        "mood_accuracy": {"publictest": mood_accuracy(pt_cal, pt_y), "photos": mood_accuracy(ph_cal, ph_y)},
        "n": {"publictest": int(len(pt_y)), "photos": int(len(ph_y)), "photos_without_a_face": missed},
    }
    summed_better = all(report["mood_accuracy"][s]["summed"] >= report["mood_accuracy"][s]["top_emotion"]
                        for s in ("publictest", "photos"))
    report["mood_decision"] = "summed" if summed_better else "top_emotion"
    rows = [tradeoff(summed_moods(ph_cal), mood_of[ph_y], t) for t in THRESHOLDS]
    pt_rows = {r.threshold: r for r in (tradeoff(summed_moods(pt_cal), mood_of[pt_y], t) for t in THRESHOLDS)}
    best = min(rows, key=lambda r: (round(r.cost, 6), r.ask_rate))
    report["unsure_below"] = best.threshold
    report["tradeoff_photos"] = [r.__dict__ for r in rows]
    report["tradeoff_publictest"] = [r.__dict__ for r in pt_rows.values()]

    print(f"temperature T = {temperature:.3f} (folds {', '.join(f'{t:.3f}' for t in fold_t)})")
    for name, v in report["ece"].items():
        print(f"ECE {name:<20} before {v['before']:.4f}  after {v['after']:.4f}")
    for split, v in report["mood_accuracy"].items():
        print(f"mood accuracy {split:<11} top emotion {v['top_emotion']:.4f}  summed {v['summed']:.4f}")
    print(f"mood decision served: {report['mood_decision']}")
    print(f"{'ask below':>9} {'asks':>6} {'wrong':>6} {'wrong|sure':>10} {'top2|ask':>9} {'cost':>6}   PublicTest: asks  wrong|sure")
    for r in rows:
        p = pt_rows[r.threshold]
        mark = "  <- chosen" if r is best else ""
        print(f"{r.threshold:>9.2f} {r.ask_rate:>6.1%} {r.wrong_rate:>6.1%} {r.wrong_when_sure:>10.1%} "
              f"{r.top2_when_asking:>9.1%} {r.cost:>6.3f}   {p.ask_rate:>16.1%} {p.wrong_when_sure:>11.1%}{mark}")
    print(f"photos: {len(ph_y)} one-face photos ({missed} without a detected face left out)")
    if not args.dry_run:
        CALIBRATION_JSON.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {CALIBRATION_JSON.relative_to(MODELS_DIR.parent)}")
    print(f"unsure_below={best.threshold:.2f} temperature={temperature:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
