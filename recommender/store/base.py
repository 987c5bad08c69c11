"""The history interface the song service relies on; each database implements it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from ..types import Served


# When the request being handled began (seconds since the epoch; None outside a request). A user's
# writes from a request that began before their /forget (on any replica) are dropped: forget wins.
REQUEST_STARTED: ContextVar[float | None] = ContextVar("request_started", default=None)
# How long a forget is remembered; no request lasts longer (downloads and analyses time out sooner).
FORGET_WINDOW_S = 3600.0


def forget_key(user_id: int) -> str:
    """The `meta` key holding when the user last used /forget (no schema change needed)."""
    return f"forgot:{user_id}"


def forgotten_during(forgot_at: str | float | None) -> bool:
    """True when a forget recorded at `forgot_at` happened after the current request began."""
    started = REQUEST_STARTED.get()
    if forgot_at is None or started is None:
        return False
    return float(forgot_at) >= started


# Where a stored mood came from: a selfie read by the model, /mood, or a text naming a feeling.
SOURCES = ("selfie", "mood", "text")


@dataclass(frozen=True)
class Reading:
    """One mood the bot answered: scores (7 calibrated emotion probabilities) only for selfies."""

    id: int
    at: float
    source: str
    mood: str
    scores: tuple[float, ...] | None


@dataclass(frozen=True)
class NewReading:
    """A mood answered, to be stored (never a photo): scores (7 calibrated emotion probabilities)
    only for selfies."""

    source: str
    mood: str
    scores: tuple[float, ...] | None = None


@dataclass(frozen=True)
class UserSettings:
    """What a user set that shapes a reply, read in one query (`HistoryStore.settings`): the
    /language choice (None: their Telegram's), lift mode, the /settings opt-in and, when asked for,
    how often they chose each mood for a selfie reading (per-person adaptation; else empty)."""

    language: str | None = None
    lift: bool = False
    mature: bool = False
    chosen_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MoodMark:
    """A point of the mood diary: the mood of a reading, or the mood chosen for it."""

    at: float
    mood: str
    chosen: bool


@dataclass(frozen=True)
class SongServed:
    track_id: str
    mood: str
    at: float


@dataclass(frozen=True)
class FieldStats:
    """Counts only, no user ids: selfies answered and (detected mood, chosen mood) → choices."""

    selfies: int = 0
    choices: dict[tuple[str, str], int] = field(default_factory=dict)


def encode_scores(scores: tuple[float, ...] | None) -> str | None:
    return None if scores is None else ",".join(f"{p:.4f}" for p in scores)


def decode_scores(text: str | None) -> tuple[float, ...] | None:
    """Stored scores back as floats; None for none, or for a value that does not parse."""
    if not text:
        return None
    try:
        return tuple(float(p) for p in text.split(","))
    except ValueError:
        return None


def settings_from_rows(rows: Iterable[Sequence]) -> UserSettings:
    """`UserSettings` from the rows of a store's settings query: (0, language, lift, mature) for the
    user's settings row, if any, and (1, mood, count, 0) for each mood they chose."""
    language, lift, mature, chosen = None, False, False, {}
    for kind, text, a, b in rows:
        if kind == 0:
            language, lift, mature = text, bool(a), bool(b)
        else:
            chosen[str(text)] = int(a)
    return UserSettings(language, lift, mature, chosen)


class UserHistory(Protocol):
    """One user's history inside an open transaction (see `HistoryStore.user`)."""

    async def served(self, mood: str | None = None) -> list[Served]:
        """The user's servings of `mood` (None: of every mood), oldest first, the block's own
        appends included; one query serves every mood asked for in the block."""
        ...

    async def append(self, mood: str, track_id: str, cycle: int) -> None:
        """Record a serving; it is committed when the transaction ends."""
        ...

    async def add_reading(self, source: str, mood: str, scores: tuple[float, ...] | None = None) -> int:
        """Store a mood answered (never a photo), committed with the block's songs; returns its id
        for the buttons under the reply (0 when the user used /forget meanwhile: not stored)."""
        ...


class HistoryStore(Protocol):
    """Per-user history of served songs and per-user settings.

    `user(user_id)` opens a transaction that no other writer of that user's history can
    interleave with (in this process or any other sharing the database): a song chosen from what
    it reads and appended in it is committed durably before the block exits, i.e. before the
    caller shows it, and no concurrent choice for the same user can pick it again. Everything
    written in the block (songs, a reading) is one commit: all of it is stored, or none of it when
    the block raises.
    """

    def user(self, user_id: int) -> AbstractAsyncContextManager[UserHistory]: ...

    async def settings(self, user_id: int, *, with_choices: bool = False) -> UserSettings:
        """The user's settings in one query (one round trip); `chosen_counts` only `with_choices`.
        Defaults for a user who set nothing."""
        ...

    async def forget(self, user_id: int) -> int:
        """Delete everything stored about the user (songs, settings, readings, choices); returns
        how many songs were forgotten."""
        ...

    async def get_lift(self, user_id: int) -> bool: ...

    async def set_lift(self, user_id: int, on: bool) -> None: ...

    async def get_mature(self, user_id: int) -> bool:
        """True when the user opted in to explicit and dark songs in happy and lift (/settings)."""
        ...

    async def set_mature(self, user_id: int, on: bool) -> None: ...

    async def get_language(self, user_id: int) -> str | None:
        """The language code the user chose with /language; None: follow their Telegram's."""
        ...

    async def set_language(self, user_id: int, language: str | None) -> None: ...

    async def claim_update(self, update_id: int) -> bool:
        """True the first time an update id is claimed (by any process sharing the database),
        False for a repeated delivery."""
        ...

    async def heartbeat(self, now: float | None = None, replica: str = "") -> None:
        """Record that this replica is alive (read by `python -m bot --health`)."""
        ...

    async def stopped(self, replica: str = "") -> None:
        """Remove this replica's heartbeat at a clean stop: `--health` and restore then see it stopped."""
        ...

    async def add_reading(self, user_id: int, source: str, mood: str,
                          scores: tuple[float, ...] | None = None) -> int:
        """Store a mood answered (never a photo) in a transaction of its own; returns its id for the
        buttons under the reply (0 when the user used /forget meanwhile). A reading answered with
        a song is stored in the song's transaction instead (`UserHistory.add_reading`)."""
        ...

    async def reading(self, user_id: int, reading_id: int) -> Reading | None:
        """The user's reading with that id; None when it is unknown, forgotten or someone else's."""
        ...

    async def add_choice(self, user_id: int, reading_id: int, mood: str) -> bool:
        """Record the mood the user chose for one of their readings, once: False when the reading is
        unknown or already has a choice (a double tap on two replicas counts once)."""
        ...

    async def chosen_counts(self, user_id: int) -> dict[str, int]:
        """How often the user chose each mood for a selfie reading (per-person adaptation)."""
        ...

    async def mood_marks(self, user_id: int, since: float) -> list[MoodMark]:
        """The user's moods since `since`, oldest first: a reading's last chosen mood if any."""
        ...

    async def recent_songs(self, user_id: int, limit: int) -> list[SongServed]:
        """The user's last `limit` songs, newest first."""
        ...

    async def field_stats(self) -> FieldStats: ...

    async def close(self) -> None: ...
