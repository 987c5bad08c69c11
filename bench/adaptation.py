"""Does per-person adaptation (recommender/adapt.py) help, and can a few taps lock someone in?

    python -m bench.adaptation [--users 500] [--selfies 30]

Simulated users send selfies drawn from the real labelled photos (../shared/data/photos, through the
served pipeline and the calibrated temperature): each user has a usual mood (70 % of their photos
show it, the rest any other mood). When the bot's mood is wrong the user corrects it with
probability 0.8, choosing the true mood. Accuracy is compared with and without adaptation on the
same selfie sequences. Then the lock-in check: after N taps for one mood, are photos of another
mood that the model reads confidently still answered with their own mood?
"""
from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from recommender.adapt import BOUND, adapt
from recommender.mood import MOOD_INDEX
from recommender.types import MOODS
from recommender.vision.calibration import CALIBRATION_JSON, summed_moods, temperature_scale
from training.calibrate_emotion import photo_probs

USUAL_SHARE, CORRECT_PROB = 0.7, 0.8


def simulate(probs: np.ndarray, moods: np.ndarray, usual: int, selfies: int, rng) -> tuple[float, float]:
    """(accuracy without, with adaptation) for one simulated user."""
    own, other = np.flatnonzero(moods == usual), np.flatnonzero(moods != usual)
    picks = [rng.choice(own) if rng.random() < USUAL_SHARE else rng.choice(other) for _ in range(selfies)]
    chosen: Counter[str] = Counter()
    plain = adapted = 0
    for i in picks:
        plain += int(probs[i].argmax() == moods[i])
        guess = int(np.argmax(adapt(probs[i], chosen)))
        adapted += int(guess == moods[i])
        if guess != moods[i] and rng.random() < CORRECT_PROB:
            chosen[MOODS[moods[i]]] += 1
    return plain / selfies, adapted / selfies


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=500, help="simulated users per usual mood")
    ap.add_argument("--selfies", type=int, default=30)
    args = ap.parse_args(argv)

    temperature = json.loads(CALIBRATION_JSON.read_text())["temperature"]
    emo, labels, _ = photo_probs()
    probs = summed_moods(temperature_scale(emo, temperature))
    moods = np.asarray(MOOD_INDEX)[labels]
    rng = np.random.default_rng(0)
    print(f"{len(moods)} photos; {args.users} simulated users per usual mood, {args.selfies} selfies each")
    print(f"{'usual mood':<11} {'photos':>6} {'without':>8} {'with':>8} {'gain':>7} {'users worse off':>16}")
    for usual, mood in enumerate(MOODS):
        if not (moods == usual).any():
            continue
        runs = np.array([simulate(probs, moods, usual, args.selfies, rng) for _ in range(args.users)])
        gain = runs[:, 1] - runs[:, 0]
        print(f"{mood:<11} {(moods == usual).sum():>6} {runs[:, 0].mean():>8.3f} {runs[:, 1].mean():>8.3f} "
              f"{gain.mean():>+7.3f} {(gain < 0).mean():>16.1%}")

    print(f"\nlock-in: photos whose top mood the model gives >= {BOUND ** 2 / (BOUND ** 2 + 1):.0%} "
          "after N corrections all for another mood")
    confident = probs.max(1) >= BOUND ** 2 / (BOUND ** 2 + 1)
    for taps in (1, 3, 5, 10, 50):
        kept = []
        for target in range(len(MOODS)):
            sel = confident & (probs.argmax(1) != target)
            kept += [int(np.argmax(adapt(p, {MOODS[target]: taps}))) == int(p.argmax()) for p in probs[sel]]
        print(f"  {taps:>3} taps: {np.mean(kept):.1%} of {len(kept)} confident answers unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
