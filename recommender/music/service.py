"""The song service: which song a user hears next, for the bot and the offline CLI alike.

It owns the catalog, each user's order, lift mode and the history: it reads the user's history
inside the store's per-user transaction, chooses (recommender.music.selection), and appends the
choice before the transaction commits, so a song is stored before anyone is shown it. What may be
served (seasonal songs, the mature opt-in) is decided here at serve time (recommender.music.rules).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..store.base import HistoryStore, NewReading, UserSettings
from ..types import MOODS, Song
from .catalog import Catalog
from .rules import Audience, banned_ids
from .selection import pick_lift, pick_next, recent_artists

if TYPE_CHECKING:
    from .spotify import Enricher, Enrichment

LOG = logging.getLogger(__name__)
ENRICH_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class Pick:
    """The song served, and what the reply needs to say about it."""

    song: Song
    mood: str  # the mood asked for (a lifted song may carry another mood)
    restarted: bool  # every song of the mood had been heard: a new round started
    lift_step: int | None  # the lift step of this song; None outside lift mode
    details: Enrichment | None = None  # album / preview from Spotify, when configured
    reading: int | None = None  # the id of the reading stored with the song (0: forgotten meanwhile)


class SongService:
    def __init__(self, catalog: Catalog, store: HistoryStore, enricher: Enricher | None = None,
                 today: Callable[[], date] = date.today) -> None:
        self.catalog = catalog
        self.store = store
        self.enricher = enricher
        self.today = today  # the serve date (seasonal songs); injectable so tests pick the month

    def knows(self, mood: str) -> bool:
        """True when the catalog has songs for `mood`."""
        return mood in MOODS and bool(self.catalog.songs(mood))

    async def next(self, user_id: int, mood: str, *, after: int | None = None,
                   settings: UserSettings | None = None, reading: NewReading | None = None) -> Pick | None:
        """The next song of `mood` this user has not heard, committed to the history.

        `after` is None for a new mood (a photo) and, for "More", the lift step of the song
        shown above the button (0 when it was not lifted). The user's lift setting decides the
        mode; None only when the catalog has no song for `mood`. `settings`: the user's, when the
        caller read them already. `reading`: the mood answered, stored in the song's transaction
        (one commit; its id is `Pick.reading`), or alone when there is no song.
        """
        if not self.knows(mood):
            if reading is not None:
                await self.store.add_reading(user_id, reading.source, reading.mood, reading.scores)
            return None
        if settings is None:
            settings = await self.store.settings(user_id)
        lifting = settings.lift
        audience = Audience.on(self.today(), settings.mature)
        step = (0 if after is None else after + 1) if lifting else None
        async with self.store.user(user_id) as history:
            stored = None if reading is None else await history.add_reading(reading.source, reading.mood,
                                                                            reading.scores)
            everything = await history.served()
            if step is None:
                banned = banned_ids(self.catalog, mood, audience)
                chosen = pick_next(self.catalog.order_for_user(mood, user_id), await history.served(mood),
                                   recent_artists(self.catalog, everything), banned)
            else:  # lifted songs cross moods: choose against the whole history
                banned = banned_ids(self.catalog, mood, audience, lifting=True)
                chosen = pick_lift(self.catalog, mood, step, user_id, everything, banned)
            if chosen is None:
                return None
            await history.append(chosen.song.mood, chosen.song.track_id, chosen.cycle)
        return Pick(chosen.song, mood, chosen.restarted, step, await self._details(chosen.song), stored)

    async def _details(self, song: Song) -> Enrichment | None:
        """Spotify's album and preview, or None: never more than ENRICH_TIMEOUT_S late."""
        if self.enricher is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.enricher.enrich, song), ENRICH_TIMEOUT_S)
        except Exception:  # timeout or any Spotify trouble: answer from the catalog alone
            return None
