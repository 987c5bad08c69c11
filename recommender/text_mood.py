"""What a message says about how someone feels: "😢", "so stressed", "great, another monday 🙄".

One vocabulary per language in data/mood_words/<language>.json (easy to extend; the English one
holds the emoji, which count in every language). A reading goes:
1. sarcasm markers ("🙄", "na toll", "ну супер", "harika ya", a shouted "NOT") are noted;
2. greetings ("good morning", "iyi geceler") are taken out: they are not feelings;
3. phrases match and take their words with them ("calm down" is not also "down"); then whole
   words, where a trailing `*` matches any ending and "sooo"/"cansadaaa" count as "so"/"cansada";
   then emoji. A negation up to three words before ("not happy"), or one of `negations_after` up
   to two words after ("mutlu değilim"), turns a match to its `negated` mood. An intensifier
   ("ужасно", "super") counts only when nothing else does.
4. `feelings` (stressed, tired, angry, anxious, annoyed) vote for calm music and say what the
   person sounds; sarcasm turns happy and energetic words into "annoyed".
5. The mood with the most votes wins; a tie or nothing is no mood. Words of `hurt` (grief,
   loss: "my dog died") without a sad mood make a hurt reading: a kind reply, not a song.
Other languages also read English words (people mix them in: "feeling low heute"), except their
`false_friends` ("fast", "bad" and "still" are German words) and English's `not_abroad` ("ok").
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path

from .paths import PROJECT_ROOT
from .types import MOODS

MOOD_WORDS = PROJECT_ROOT / "data" / "mood_words"
ENGLISH = "en"
MAX_TEXT = 500  # a feeling fits in a sentence; longer texts are read only this far
FEELINGS = ("stressed", "tired", "angry", "anxious", "annoyed")  # each wants calm music
GREETINGS = ("hello", "morning", "evening", "night")
_TOKEN = re.compile(r"[\w']+")
_RUN = re.compile(r"(\w)\1{2,}")  # "sooo", "cansadaaa": a letter typed three times or more
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_TURKISH_ASCII = str.maketrans("şçğöüı", "scgoui")


def fold(text: str) -> str:
    """Lower case for matching; Turkish "İ" becomes "i" (str.lower adds a combining dot)."""
    return text.replace("İ", "i").lower().replace("\u0307", "").replace("’", "'")


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)))


Spelling = Callable[[str], str]
# How people type a language without its letters: each vocabulary term is also read so.
_SPELLINGS: dict[str, Spelling] = {"strip_accents": _strip_accents, "umlauts": lambda t: t.translate(_UMLAUTS),
              "turkish_ascii": lambda t: t.translate(_TURKISH_ASCII)}


def _has(term: str, text: str) -> bool:
    """A phrase as whole words; a symbol (emoji, no letters) anywhere."""
    if not re.search(r"\w", term):
        return term in text
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text) is not None


def _cut(term: str, text: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(term)}(?!\w)", " ", text) if re.search(r"\w", term) \
        else text.replace(term, " ")


def _squeezed(token: str) -> tuple[str, ...]:
    """A token and, when a letter repeats three times or more, the token with it twice and once."""
    if not _RUN.search(token):
        return (token,)
    return token, _RUN.sub(r"\1\1", token), _RUN.sub(r"\1", token)


def _unstretched(text: str, known: frozenset[str], prefixes: tuple[str, ...]) -> str:
    """"sooo tiiired", "holaaa", "lets gooo": each stretched word as the vocabulary spells it
    (letters twice or once, whichever it knows), so words, phrases and greetings all match."""
    def word(m: re.Match[str]) -> str:
        return next((f for f in _squeezed(m.group())[1:] if f in known or f.startswith(prefixes)), m.group())
    return _TOKEN.sub(word, text) if _RUN.search(text) else text


@dataclass(frozen=True)
class Match:
    """What a word, phrase or emoji says: a music mood and, for calm ones, the feeling behind it."""
    mood: str
    feeling: str | None = None


@dataclass(frozen=True)
class TextReading:
    """A message read: the mood to serve (None: none), the feeling the person sounds when it is not
    the mood itself ("stressed" → calm music), a greeting that named no feeling, or hurt (sad or
    hurt but no mood to serve: a kind reply)."""
    mood: str | None = None
    feeling: str | None = None
    greeting: str | None = None
    hurt: bool = False


@dataclass(frozen=True)
class Terms:
    """A set of words (a trailing * matches any ending), phrases and symbols to look for."""
    phrases: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, terms: list[str], spell: Spelling | None = None) -> Terms:
        phrases, words, prefixes = [], set(), []
        for term in _variants([fold(t) for t in terms], spell):
            if " " in term or not re.fullmatch(r"[\w'*]+", term):
                phrases.append(term)
            elif term.endswith("*"):
                prefixes.append(term[:-1])
            else:
                words.add(term)
        return cls(tuple(dict.fromkeys(phrases)), frozenset(words), tuple(dict.fromkeys(prefixes)))

    def __add__(self, other: Terms) -> Terms:
        return Terms(tuple(dict.fromkeys(self.phrases + other.phrases)), self.words | other.words,
                     tuple(dict.fromkeys(self.prefixes + other.prefixes)))

    def without(self, drop: frozenset[str]) -> Terms:
        return Terms(tuple(p for p in self.phrases if p not in drop), self.words - drop,
                     tuple(p for p in self.prefixes if p + "*" not in drop))

    def found(self, text: str) -> bool:
        if any(_has(p, text) for p in self.phrases):
            return True
        return any(t in self.words or t.startswith(self.prefixes) for t in _TOKEN.findall(text))


def _variants(terms: list[str], spell: Spelling | None) -> list[str]:
    if spell is None:
        return terms
    return list(dict.fromkeys(terms + [spell(t) for t in terms]))


@dataclass(frozen=True)
class Vocabulary:
    phrases: tuple[tuple[str, Match], ...]  # (phrase, match), longest first
    words: dict[str, Match]
    prefixes: tuple[tuple[str, Match], ...]  # feelings first
    emoji: tuple[tuple[str, str], ...]
    negations: frozenset[str]
    negated: dict[str, str]
    negations_after: frozenset[str] = frozenset()
    greetings: tuple[tuple[str, str], ...] = ()  # (phrase, kind), longest first
    greeting_emoji: tuple[str, ...] = ()  # "good morning ☀️": part of the greeting, not a feeling
    sarcasm: Terms = Terms()
    sarcasm_exact: tuple[str, ...] = ()  # case-sensitive whole words: "so happy... NOT"
    hurt: Terms = Terms()
    intensifiers: frozenset[str] = frozenset()
    false_friends: frozenset[str] = frozenset()  # English words that are ordinary words here
    not_abroad: frozenset[str] = frozenset()  # (English) words too common in every language

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        raw = json.loads(path.read_text(encoding="utf-8"))
        spell = _SPELLINGS[raw["spellings"]] if raw.get("spellings") else None
        phrases, words, prefixes, emoji = [], {}, [], []

        def add(terms: list[str], match: Match, feeling_first: bool = False) -> None:
            for term in _variants([fold(t) for t in terms], spell):
                if " " in term or not re.fullmatch(r"[\w'*]+", term):
                    phrases.append((term, match))
                elif term.endswith("*"):
                    prefixes.insert(0 if feeling_first else len(prefixes), (term[:-1], match))
                else:
                    words[term] = match

        for mood, entry in raw["moods"].items():
            if mood not in MOODS:
                raise ValueError(f"{path}: unknown mood {mood!r}")
            add(entry.get("phrases", []) + entry.get("words", []), Match(mood))
            emoji += [(e, mood) for e in entry.get("emoji", ())]
        for feeling, terms in raw.get("feelings", {}).items():  # after the moods: a feeling wins a tie
            if feeling not in FEELINGS:
                raise ValueError(f"{path}: unknown feeling {feeling!r}")
            add(terms, Match("calm", feeling), feeling_first=True)
        phrases = list({p: m for p, m in phrases}.items())  # a feeling's phrase wins (added last)
        greetings = [(fold(p), kind) for kind, terms in raw.get("greetings", {}).items()
                     for p in _variants(list(terms), spell)]
        if any(kind not in GREETINGS for _, kind in greetings):
            raise ValueError(f"{path}: greetings are {GREETINGS}")
        return cls(tuple(sorted(phrases, key=lambda p: -len(p[0]))), words, tuple(prefixes), tuple(emoji),
                   frozenset(fold(n) for n in raw.get("negations", ()) if " " not in n),
                   dict(raw.get("negated", {})),
                   frozenset(fold(n) for n in raw.get("negations_after", ()) if " " not in n),
                   tuple(sorted(dict.fromkeys(greetings), key=lambda p: -len(p[0]))),
                   tuple(raw.get("greeting_emoji", ())),
                   Terms.of(raw.get("sarcasm", []), spell), tuple(raw.get("sarcasm_exact", ())),
                   Terms.of(raw.get("hurt", [])),  # as written: Turkish "öldü" typed "oldu" is "it became"
                   frozenset(fold(w) for w in raw.get("intensifiers", ())),
                   frozenset(fold(w) for w in raw.get("false_friends", ())),
                   frozenset(fold(w) for w in raw.get("not_abroad", ())))

    def with_english(self, english: Vocabulary) -> Vocabulary:
        """This vocabulary plus the English words people mix in; its own words come first."""
        skip = self.false_friends | english.not_abroad
        return replace(
            self,
            phrases=tuple(sorted(self.phrases + tuple((p, m) for p, m in english.phrases if p not in skip),
                                 key=lambda p: -len(p[0]))),
            words={**{w: m for w, m in english.words.items() if w not in skip}, **self.words},
            prefixes=self.prefixes + tuple((p, m) for p, m in english.prefixes if p + "*" not in skip),
            emoji=self.emoji + english.emoji,
            negations=self.negations | (english.negations - skip),
            greetings=tuple(sorted(self.greetings + tuple((p, k) for p, k in english.greetings if p not in skip),
                                   key=lambda p: -len(p[0]))),
            greeting_emoji=self.greeting_emoji + english.greeting_emoji,
            sarcasm=self.sarcasm + english.sarcasm.without(skip),
            sarcasm_exact=self.sarcasm_exact + english.sarcasm_exact,
            hurt=self.hurt + english.hurt.without(skip),
            intensifiers=self.intensifiers | english.intensifiers,
        )

    def read(self, text: str) -> TextReading:
        raw = text[:MAX_TEXT]
        text = _unstretched(fold(raw), self._known, self._known_prefixes)
        sarcastic = self.sarcasm.found(text) or any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", raw)
                                                    for w in self.sarcasm_exact)
        greeting = None
        for phrase, kind in self.greetings:
            if _has(phrase, text):
                greeting, text = greeting or kind, _cut(phrase, text)
        if greeting is not None:
            for symbol in self.greeting_emoji:
                text = text.replace(symbol, " ")
        hurt = self.hurt.found(text)
        votes = self._votes(text)
        if sarcastic:  # "great, another monday 🙄": the happy words are said through teeth
            kept = [v for v in votes if v.mood not in ("happy", "energetic")]
            votes = kept + [Match("calm", "annoyed")] if len(kept) < len(votes) or not kept else kept
        mood = _winner(votes)
        if hurt and mood != "sad":
            return TextReading(hurt=True)
        if mood is None:
            return TextReading(greeting=greeting)
        feelings = Counter(v.feeling for v in votes if v.mood == mood and v.feeling)
        return TextReading(mood, _winner(feelings.elements()))

    @cached_property
    def _known(self) -> frozenset[str]:
        """Every word the vocabulary spells out, alone or in a phrase or greeting."""
        phrases = [p for p, _ in self.phrases + self.greetings] + list(self.sarcasm.phrases + self.hurt.phrases)
        return frozenset(self.words) | self.sarcasm.words | self.hurt.words \
            | {w for p in phrases for w in _TOKEN.findall(p)}

    @cached_property
    def _known_prefixes(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.prefixes) + self.sarcasm.prefixes + self.hurt.prefixes

    def mood_of(self, text: str) -> str | None:
        return self.read(text).mood

    def _votes(self, text: str) -> list[Match]:
        votes: list[Match] = []
        for phrase, match in self.phrases:
            if _has(phrase, text):
                at = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text).start()  # type: ignore[union-attr]
                before, after = _TOKEN.findall(text[:at]), _TOKEN.findall(text[at + len(phrase):])
                votes.append(self._maybe_negated(match, before[-3:], after[:2]))
                text = _cut(phrase, text)
        for symbol, mood in self.emoji:
            votes += [Match(mood)] * text.count(symbol)
        tokens = _TOKEN.findall(text)
        intensified: list[Match] = []
        for i, token in enumerate(tokens):
            match = self._word(token)
            if match is not None:
                match = self._maybe_negated(match, tokens[max(0, i - 3):i], tokens[i + 1:i + 3])
                (intensified if token in self.intensifiers else votes).append(match)
        return votes or intensified

    def _word(self, token: str) -> Match | None:
        return self.words.get(token) or next((m for p, m in self.prefixes if token.startswith(p)), None)

    def _maybe_negated(self, match: Match, before: list[str], after: list[str]) -> Match:
        """`match`, or its `negated` mood (no feeling: "not stressed" is not stressed) when a
        negation is among the (up to three) words before it or the (up to two) words after it."""
        negated = any(t in self.negations or t.endswith("n't") for t in before) \
            or any(t in self.negations_after for t in after)
        return Match(self.negated.get(match.mood, match.mood)) if negated else match


def _winner(votes: Iterable[Match | str]) -> str | None:
    """The most common vote, or None for nothing or a tie."""
    ranked = Counter(m.mood if isinstance(m, Match) else m for m in votes).most_common(2) + [(None, 0)] * 2
    (best, n), (_, runner_up) = ranked[:2]
    return best if n > runner_up else None


@cache
def vocabulary(language: str = ENGLISH) -> Vocabulary:
    """The vocabulary of a language ("pt_BR" falls back to "pt") with the English words and emoji;
    English for a language without one."""
    english = Vocabulary.load(MOOD_WORDS / f"{ENGLISH}.json")
    if language == ENGLISH:
        return english
    for code in dict.fromkeys((language, language.split("_")[0])):
        path = MOOD_WORDS / f"{code}.json"
        if code != ENGLISH and path.is_file():
            return Vocabulary.load(path).with_english(english)
    return english


def read_text(text: str, language: str = ENGLISH) -> TextReading:
    """What a message says, read with the vocabulary of the user's language."""
    return vocabulary(language).read(text)


def mood_from_text(text: str, language: str = ENGLISH) -> str | None:
    """The music mood a message names, or None when it names none (or two equally)."""
    return read_text(text, language).mood
