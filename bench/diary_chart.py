"""How long the /diary chart takes to draw and how big its PNG is, on synthetic check-ins only.

    python -m bench.diary_chart [--repeat 15]

Three made-up diaries (a quiet month, a typical one, a busy one with 30 check-ins on one day) in
English, German and Russian; each is drawn once to warm the font cache, then --repeat times.
Prints the median and worst milliseconds per chart (bot/diary.render: layout, drawing, PNG) and the
PNG's size and pixels.
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import time

from PIL import Image

from bot.diary import MoodEvent, render
from bot.i18n import Languages
from bot.texts import diary_labels
from recommender.types import MOODS

NOW = 1_800_000_000.0


def diary(per_day: tuple[int, ...], seed: int) -> list[MoodEvent]:
    rng = random.Random(seed)
    return [MoodEvent(NOW - d * 86400 - k * 1800, rng.choice(MOODS), rng.random() < 0.25)
            for d in range(30) for k in range(rng.choice(per_day))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    busy = diary((1, 2, 3, 4), 3) + [MoodEvent(NOW - 12 * 86400 - k * 600, MOODS[k % 4], False) for k in range(30)]
    diaries = {"quiet": diary((0, 0, 0, 1), 1), "typical": diary((0, 1, 1, 2, 3), 2), "busy": busy}
    languages = Languages.load()
    for code in ("en", "de", "ru"):
        labels = diary_labels(languages.get(code).tr, 30)
        for name, events in diaries.items():
            render(events, labels, NOW)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                png = render(events, labels, NOW)
                times.append(1000 * (time.perf_counter() - start))
            with Image.open(io.BytesIO(png)) as im:
                size = "×".join(map(str, im.size))
            print(f"{code} {name:8} {len(events):3} check-ins: median {statistics.median(times):5.1f} ms, "
                  f"worst {max(times):5.1f} ms, {len(png) / 1024:5.1f} KB PNG, {size} px")


if __name__ == "__main__":
    main()
