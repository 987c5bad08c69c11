"""Which song to serve next: pure logic, no I/O.

Rule: a user never gets a song of a mood twice until every song of that mood has been
served once ("a cycle"). When the mood is exhausted the user is told, a new cycle starts,
and the new cycle replays songs oldest-served first, so the longest-unheard songs come back
before the recent ones.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ..types import Served, Song
from .catalog import ARTIST_GAP, Catalog, artist_key
from .lift import choose_lift_song


@dataclass(frozen=True)
class Choice:
    song: Song
    cycle: int
    restarted: bool  # True when this pick opened a new cycle (the mood was exhausted)


def recent_artists(catalog: Catalog, served: Sequence[Served], gap: int = ARTIST_GAP) -> frozenset[str]:
    """The artists (keys) of the user's last gap - 1 songs, every mood: not to be served next."""
    songs = (catalog.get(s.track_id) for s in served[len(served) - (gap - 1):] if gap > 1)
    return frozenset(artist_key(song.artist) for song in songs if song is not None)


def pick_next(order: Sequence[Song], served: Sequence[Served],
              avoid_artists: Collection[str] = frozenset(),
              banned: Collection[str] = frozenset()) -> Choice | None:
    """The next song from `order` (the catalog's order of one mood for this user).

    `served` is the user's history, oldest first; entries for songs not in `order`
    (other moods, songs since removed from the catalog) are ignored. A song by one of
    `avoid_artists` (keys, see `recent_artists`) is passed over while another is due. `banned`
    track ids count as not in `order` (recommender.music.rules). Returns None only when `order`
    has no song that is not banned.

    `order` is read only up to the first song due (a user's order is lazy: catalog.UserOrder),
    except once every song has been served and the oldest-served one is looked for.
    """
    ids = _track_ids(order)
    relevant = [s for s in served if s.track_id in ids and s.track_id not in banned]
    cycle = max((s.cycle for s in relevant), default=0)
    in_cycle = {s.track_id for s in relevant if s.cycle == cycle}
    # len(in_cycle) <= the allowed songs <= len(ids): the exact count only when it could matter
    if len(in_cycle) + len(banned) < len(ids):
        allowed = len(ids)  # a bound high enough to tell no restart is due
    else:
        allowed = len(ids) - len({t for t in banned if t in ids})
    if allowed == 0:
        return None
    restarted = len(in_cycle) >= allowed
    if restarted:
        cycle += 1
        in_cycle = set()
    # When a song was last served; never-served songs rank first, in catalog order.
    last_seen = {s.track_id: i for i, s in enumerate(relevant)}
    first_fresh = None
    for song in order:  # stops at the first never-served song by an artist not to avoid
        if song.track_id in last_seen or song.track_id in banned:
            continue
        if artist_key(song.artist) not in avoid_artists:
            return Choice(song=song, cycle=cycle, restarted=restarted)
        if first_fresh is None:
            first_fresh = song
    if first_fresh is not None:
        return Choice(song=first_fresh, cycle=cycle, restarted=restarted)
    fresh = [song for _, _, song in sorted(
        (last_seen.get(song.track_id, -1), pos, song)
        for pos, song in enumerate(s for s in order if s.track_id not in banned)
        if song.track_id not in in_cycle)]
    song = next((s for s in fresh if artist_key(s.artist) not in avoid_artists), fresh[0])
    return Choice(song=song, cycle=cycle, restarted=restarted)


def remaining(order: Sequence[Song], served: Sequence[Served]) -> int:
    """How many songs of this mood the user has not heard in the current cycle."""
    ids = _track_ids(order)
    relevant = [s for s in served if s.track_id in ids]
    cycle = max((s.cycle for s in relevant), default=0)
    return len(ids) - len({s.track_id for s in relevant if s.cycle == cycle})


def _track_ids(order: Sequence[Song]) -> Collection[str]:
    """The track ids in `order`: a user's order carries them (no pass over its songs), else a set."""
    ids = getattr(order, "track_ids", None)
    return ids if ids is not None else {song.track_id for song in order}


def pick_lift(catalog: Catalog, mood: str, step: int, user_id: int, served: Sequence[Served],
              banned: Collection[str] = frozenset()) -> Choice | None:
    """The next song in lift mode (recommender.music.lift), by the same no-repeat rule.

    `served` is the user's whole history (lifted songs cross moods). A song counts as heard when
    it was served in its own mood's current cycle; when every song is heard, lift starts over
    (restarted=True) and the song opens a new cycle of its mood. `banned` track ids are never
    served (recommender.music.rules); the last songs' artists are passed over while others are near.
    """
    cycles: dict[str, int] = {}
    moods: dict[str, str] = {}
    for s in served:
        song = catalog.get(s.track_id)
        if song is not None:
            moods[s.track_id] = song.mood
            cycles[song.mood] = max(cycles.get(song.mood, 0), s.cycle)
    heard = {s.track_id for s in served if s.track_id in moods and s.cycle == cycles[moods[s.track_id]]}
    avoid = recent_artists(catalog, served)
    song = choose_lift_song(catalog, mood, step, user_id, exclude=heard | set(banned), avoid_artists=avoid)
    if song is not None:
        return Choice(song=song, cycle=cycles.get(song.mood, 0), restarted=False)
    song = choose_lift_song(catalog, mood, step, user_id, exclude=banned, avoid_artists=avoid)
    if song is None:
        return None
    return Choice(song=song, cycle=cycles.get(song.mood, 0) + 1, restarted=True)
