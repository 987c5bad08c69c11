"""A feeling in words or emoji → a music mood: "😢", "sad", "I feel great", "need to calm down".

The vocabulary lives in data/mood_words.json (easy to extend). Phrases match first and take
their words with them ("calm down" is not also "down"); then whole words, where a trailing `*`
matches any ending; then emoji. A negation up to three words before a word turns it to its
`negated` mood ("not happy" → sad). The mood with the most matches wins; a tie or nothing is None.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .paths import PROJECT_ROOT
from .types import MOODS

MOOD_WORDS = PROJECT_ROOT / "data" / "mood_words.json"
MAX_TEXT = 500  # a feeling fits in a sentence; longer texts are read only this far
_TOKEN = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Vocabulary:
    phrases: tuple[tuple[str, str], ...]  # (phrase, mood), longest first
    words: dict[str, str]
    prefixes: tuple[tuple[str, str], ...]
    emoji: tuple[tuple[str, str], ...]
    negations: frozenset[str]
    negated: dict[str, str]

    @classmethod
    def load(cls, path: Path = MOOD_WORDS) -> Vocabulary:
        raw = json.loads(path.read_text(encoding="utf-8"))
        phrases, words, prefixes, emoji = [], {}, [], []
        for mood, entry in raw["moods"].items():
            if mood not in MOODS:
                raise ValueError(f"{path}: unknown mood {mood!r}")
            phrases += [(p.lower(), mood) for p in entry.get("phrases", ())]
            for w in entry.get("words", ()):
                if w.endswith("*"):
                    prefixes.append((w[:-1].lower(), mood))
                else:
                    words[w.lower()] = mood
            emoji += [(e, mood) for e in entry.get("emoji", ())]
        return cls(tuple(sorted(phrases, key=lambda p: -len(p[0]))), words, tuple(prefixes), tuple(emoji),
                   frozenset(n.lower() for n in raw.get("negations", ()) if " " not in n),
                   dict(raw.get("negated", {})))

    def mood_of(self, text: str) -> str | None:
        text = text[:MAX_TEXT].lower().replace("’", "'")
        votes: Counter[str] = Counter()
        for phrase, mood in self.phrases:
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
                votes[self._maybe_negated(text[:text.find(phrase)], mood)] += 1
                text = text.replace(phrase, " ")
        for symbol, mood in self.emoji:
            if symbol in text:
                votes[mood] += text.count(symbol)
        tokens = _TOKEN.findall(text)
        for i, token in enumerate(tokens):
            mood = self.words.get(token) or next((m for p, m in self.prefixes if token.startswith(p)), None)
            if mood is not None:
                negated = any(t in self.negations or t.endswith("n't") for t in tokens[max(0, i - 3):i])
                votes[self.negated.get(mood, mood) if negated else mood] += 1
        if not votes:
            return None
        (best, n), *rest = votes.most_common(2) + [(None, 0)]
        return best if n > rest[0][1] else None

    def _maybe_negated(self, before: str, mood: str) -> str:
        recent = _TOKEN.findall(before)[-3:]
        negated = any(t in self.negations or t.endswith("n't") for t in recent)
        return self.negated.get(mood, mood) if negated else mood


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


def mood_from_text(text: str) -> str | None:
    """The music mood a message names, or None when it names none (or two equally)."""
    return vocabulary().mood_of(text)
