"""Which catalog songs may be served to whom, and when: decided at serve time, never baked in.

* Seasonal songs (flag "christmas") are served only in December, by the date where the bot runs.
* Songs marked explicit or dark (flags "explicit", "dark": a title, album or playlist says so,
  training.build_catalog) stay out of happy and out of lift mode unless the user opted in
  (/settings): a happy or lifting moment should not open on a shooting or a curse.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from ..types import Song
from .catalog import Catalog

SEASONAL = frozenset({"christmas"})
MATURE = frozenset({"explicit", "dark"})
MATURE_MOODS = frozenset({"happy"})  # the moods where mature songs wait for the opt-in
CHRISTMAS_MONTH = 12


@dataclass(frozen=True)
class Audience:
    """The serve-time facts the rules need: today's month and the user's opt-in."""

    month: int
    mature_ok: bool = False

    @classmethod
    def on(cls, day: date, mature_ok: bool = False) -> Audience:
        return cls(month=day.month, mature_ok=mature_ok)

    def allows(self, song: Song, mood: str, *, lifting: bool = False) -> bool:
        """May `song` be served for `mood` (the mood asked), in lift mode or not?"""
        if song.flags & SEASONAL and self.month != CHRISTMAS_MONTH:
            return False
        if song.flags & MATURE and not self.mature_ok and (lifting or mood in MATURE_MOODS):
            return False
        return True


def banned_ids(catalog: Catalog, mood: str, audience: Audience, *, lifting: bool = False) -> frozenset[str]:
    """The track ids of the whole catalog this audience may not get for `mood` (cached)."""
    return _banned(catalog, mood if not lifting else "", audience, lifting)


@lru_cache(maxsize=64)
def _banned(catalog: Catalog, mood: str, audience: Audience, lifting: bool) -> frozenset[str]:
    return frozenset(s.track_id for m in catalog.moods for s in catalog.songs(m)
                     if not audience.allows(s, mood, lifting=lifting))
