"""A feeling in words or emoji → a music mood: "😢", "sad", "I feel great", "need to calm down".

One vocabulary per language in data/mood_words/<language>.json (easy to extend; the English one
holds the emoji, which count in every language). Phrases match first and take their words with
them ("calm down" is not also "down"); then whole words, where a trailing `*` matches any
ending; then emoji. A negation up to three words before a word ("not happy"), or one of
`negations_after` up to two words after it ("mutlu değilim"), turns it to its `negated` mood.
The mood with the most matches wins; a tie or nothing is None. English words are not tried on
other languages' texts: "fast", "bad" and "still" are German words too; a language without a
vocabulary is read as English.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from .paths import PROJECT_ROOT
from .types import MOODS

MOOD_WORDS = PROJECT_ROOT / "data" / "mood_words"
ENGLISH = "en"
MAX_TEXT = 500  # a feeling fits in a sentence; longer texts are read only this far
_TOKEN = re.compile(r"[\w']+")


def fold(text: str) -> str:
    """Lower case for matching; Turkish "İ" becomes "i" (str.lower adds a combining dot)."""
    return text.replace("İ", "i").lower().replace("\u0307", "").replace("’", "'")


@dataclass(frozen=True)
class Vocabulary:
    phrases: tuple[tuple[str, str], ...]  # (phrase, mood), longest first
    words: dict[str, str]
    prefixes: tuple[tuple[str, str], ...]
    emoji: tuple[tuple[str, str], ...]
    negations: frozenset[str]
    negated: dict[str, str]
    negations_after: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        raw = json.loads(path.read_text(encoding="utf-8"))
        phrases, words, prefixes, emoji = [], {}, [], []
        for mood, entry in raw["moods"].items():
            if mood not in MOODS:
                raise ValueError(f"{path}: unknown mood {mood!r}")
            phrases += [(fold(p), mood) for p in entry.get("phrases", ())]
            for w in entry.get("words", ()):
                if w.endswith("*"):
                    prefixes.append((fold(w[:-1]), mood))
                else:
                    words[fold(w)] = mood
            emoji += [(e, mood) for e in entry.get("emoji", ())]
        return cls(tuple(sorted(phrases, key=lambda p: -len(p[0]))), words, tuple(prefixes), tuple(emoji),
                   frozenset(fold(n) for n in raw.get("negations", ()) if " " not in n),
                   dict(raw.get("negated", {})),
                   frozenset(fold(n) for n in raw.get("negations_after", ()) if " " not in n))

    def mood_of(self, text: str) -> str | None:
        text = fold(text[:MAX_TEXT])
        votes: Counter[str] = Counter()
        for phrase, mood in self.phrases:
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
                at = text.find(phrase)
                before, after = _TOKEN.findall(text[:at]), _TOKEN.findall(text[at + len(phrase):])
                votes[self._maybe_negated(mood, before[-3:], after[:2])] += 1
                text = text.replace(phrase, " ")
        for symbol, mood in self.emoji:
            if symbol in text:
                votes[mood] += text.count(symbol)
        tokens = _TOKEN.findall(text)
        for i, token in enumerate(tokens):
            mood = self.words.get(token) or next((m for p, m in self.prefixes if token.startswith(p)), None)
            if mood is not None:
                votes[self._maybe_negated(mood, tokens[max(0, i - 3):i], tokens[i + 1:i + 3])] += 1
        if not votes:
            return None
        (best, n), *rest = votes.most_common(2) + [(None, 0)]
        return best if n > rest[0][1] else None

    def _maybe_negated(self, mood: str, before: list[str], after: list[str]) -> str:
        """`mood`, or its `negated` mood when a negation is among the (up to three) words before
        it or the (up to two) words after it."""
        negated = any(t in self.negations or t.endswith("n't") for t in before) \
            or any(t in self.negations_after for t in after)
        return self.negated.get(mood, mood) if negated else mood


@cache
def vocabulary(language: str = ENGLISH) -> Vocabulary:
    """The vocabulary of a language ("pt_BR" falls back to "pt") with the English emoji; English
    for a language without one."""
    if language == ENGLISH:
        return Vocabulary.load(MOOD_WORDS / f"{ENGLISH}.json")
    english = vocabulary(ENGLISH)
    for code in dict.fromkeys((language, language.split("_")[0])):
        path = MOOD_WORDS / f"{code}.json"
        if code != ENGLISH and path.is_file():
            own = Vocabulary.load(path)
            return replace(own, emoji=own.emoji + english.emoji)
    return english


def mood_from_text(text: str, language: str = ENGLISH) -> str | None:
    """The music mood a message names, or None when it names none (or two equally), read with the
    vocabulary of the user's language."""
    return vocabulary(language).mood_of(text)
