"""How well the bot reads what people write: hit rates per language on data/text_moods/<lang>.csv.

    python -m bench.text_mood [--misses] [--set heldout]

Each row is a realistic message (slang, typos, no accents, emoji, sarcasm, English mixed in,
greetings, grief) and what it should read as: a mood, "greeting", "kind" (sad or hurt, not
placed: a kind reply with the four moods) or "none"; "a|b" accepts either. "feeling" (when set)
is what the reply should say the user sounds (stressed, tired, angry, anxious, annoyed).
Hit: the reading is one of the expected. Wrong song: a song of a mood the row does not accept
(or any song for a greeting, grief or non-feeling). The set is for measuring, not tuning: the
vocabularies' own `examples` (tests/test_text_mood.py) keep them honest too, and
data/text_moods/heldout/ (18 more a language, written after the reader and never tuned on) says
how far the figures carry to messages the vocabularies were not written against.
"""
from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

from recommender.paths import PROJECT_ROOT
from recommender.text_mood import read_text
from recommender.types import MOODS

SETS = PROJECT_ROOT / "data" / "text_moods"


@dataclass(frozen=True)
class Row:
    text: str
    expected: frozenset[str]
    feeling: str


def load(path: Path) -> list[Row]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Row(r["text"], frozenset(r["expected"].split("|")), r["feeling"]) for r in csv.DictReader(f)]


def read(text: str, language: str) -> tuple[str, str]:
    """(what the reader makes of a text: a mood, "greeting", "kind" or "none"; the feeling or "")."""
    reading = read_text(text, language)
    label = reading.mood or ("kind" if reading.hurt else "greeting" if reading.greeting else "none")
    return label, reading.feeling or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--set", default="", help="a folder under data/text_moods (heldout)")
    args = parser.parse_args()
    print(f"{'language':9} {'rows':>4} {'hit':>6} {'wrong song':>10} {'feeling':>8}")
    total = hits = 0
    for path in sorted((SETS / args.set).glob("*.csv")):
        rows = load(path)
        got = [read(r.text, path.stem) for r in rows]
        hit = sum(label in r.expected for r, (label, _) in zip(rows, got))
        wrong = sum(label in MOODS and label not in r.expected for r, (label, _) in zip(rows, got))
        with_feeling = [(r, f) for r, (_, f) in zip(rows, got) if r.feeling]
        felt = sum(r.feeling == f for r, f in with_feeling)
        print(f"{path.stem:9} {len(rows):4} {hit / len(rows):6.0%} {wrong:10} {felt:4}/{len(with_feeling):<3}")
        total, hits = total + len(rows), hits + hit
        if args.misses:
            for r, (label, feeling) in zip(rows, got):
                if label not in r.expected or (r.feeling and r.feeling != feeling):
                    print(f"    {r.text!r}: {label}{'/' + feeling if feeling else ''}, wanted "
                          f"{'|'.join(sorted(r.expected))}{'/' + r.feeling if r.feeling else ''}")
    print(f"{'all':9} {total:4} {hits / total:6.0%}")


if __name__ == "__main__":
    main()
