"""Do the songs fit the moment? The first songs new users get, judged against the audit set.

    python -m bench.song_fit [--catalog PATH] [--users 4] [--songs 20] [--date 2026-07-15]
    python -m bench.song_fit --list > served.csv   # the songs served, to judge new ones

Simulates `--users` new users (fixed ids) asking each mood and pressing "More" until they have
`--songs` songs of it, through the real SongService on an in-memory SQLite history, on the given
date (seasonal songs depend on it), without the mature opt-in and outside lift mode. Prints per
mood the share of those songs that fit, by data/song_audit.csv (the rubric: docs/song-model.md,
"Fit"), the songs the audit has not judged (judge them before trusting a figure), the variety
(distinct first songs, the most songs by one artist within any 10 consecutive, genres) and, last,
`fit=` the share over all moods. It also runs on an older checkout (the "before" figures): copy
this file there and run it with that checkout's catalog.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import inspect
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.paths import CATALOG_PATH
from recommender.store.sqlite import SQLiteHistoryStore
from recommender.types import MOODS, Song

AUDIT_PATH = Path(__file__).resolve().parent.parent / "data" / "song_audit.csv"
USERS = (5550001, 6612345, 7700042, 8123456)  # fixed: the figures are reproducible


async def served_songs(catalog: Catalog, users: list[int], n: int, day: date) -> dict[int, dict[str, list[Song]]]:
    store = await SQLiteHistoryStore.open(":memory:")
    kwargs = {"today": lambda: day} if "today" in inspect.signature(SongService).parameters else {}
    service = SongService(catalog, store, **kwargs)
    out: dict[int, dict[str, list[Song]]] = {}
    try:
        for user in users:
            for mood in MOODS:
                picks = [await service.next(user, mood) for _ in range(n)]
                out.setdefault(user, {})[mood] = [p.song for p in picks if p is not None]
    finally:
        await store.close()
    return out


def load_audit(path: Path) -> dict[tuple[str, str], bool]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {(r["track_id"], r["mood"]): r["fits"].strip().lower() == "yes" for r in csv.DictReader(fh)}


def max_by_one_artist(songs: list[Song], window: int = 10) -> int:
    return max((max(Counter(s.artist.casefold() for s in songs[i:i + window]).values())
                for i in range(max(1, len(songs) - window + 1)) if songs[i:i + window]), default=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, default=CATALOG_PATH)
    ap.add_argument("--audit", type=Path, default=AUDIT_PATH)
    ap.add_argument("--users", type=int, default=len(USERS))
    ap.add_argument("--songs", type=int, default=20)
    ap.add_argument("--date", type=date.fromisoformat, default=date(2026, 7, 15))
    ap.add_argument("--list", action="store_true", help="print the songs served as CSV and stop")
    args = ap.parse_args(argv)

    catalog = Catalog.load(args.catalog)
    users = list(USERS[:args.users]) if args.users <= len(USERS) else list(range(1, args.users + 1))
    served = asyncio.run(served_songs(catalog, users, args.songs, args.date))
    if args.list:
        w = csv.writer(sys.stdout)
        w.writerow(["user", "mood", "rank", "track_id", "name", "artist", "song_mood"])
        for user, by_mood in served.items():
            for mood, songs in by_mood.items():
                for rank, s in enumerate(songs):
                    w.writerow([user, mood, rank, s.track_id, s.name, s.artist, s.mood])
        return 0

    audit = load_audit(args.audit) if args.audit.exists() else {}
    print(f"catalog {args.catalog} ({len(catalog)} songs), {len(users)} users x {args.songs} songs "
          f"per mood, date {args.date}, audit {args.audit.name} ({len(audit)} judgements)")
    fits = judged = 0
    for mood in MOODS:
        songs = [(u, s) for u in users for s in served[u][mood]]
        verdicts = [audit.get((s.track_id, mood)) for _, s in songs]
        yes, known = sum(v is True for v in verdicts), sum(v is not None for v in verdicts)
        fits, judged = fits + yes, judged + known
        firsts = len({served[u][mood][0].track_id for u in users if served[u][mood]})
        spacing = max(max_by_one_artist(served[u][mood]) for u in users)
        genres = Counter(getattr(s, "genre", "") or "?" for _, s in songs).most_common(4)
        share = f"{yes / known:.2f}" if known else "n/a"
        print(f"{mood:9s} fit {share} ({yes}/{known} judged, {len(songs) - known} not judged); "
              f"distinct first songs {firsts}/{len(users)}; most by one artist in 10 songs {spacing}; "
              f"genres {', '.join(f'{g} {n}' for g, n in genres)}")
    print(f"fit={fits / judged:.2f}" if judged else "fit=n/a")
    return 0


if __name__ == "__main__":
    sys.exit(main())
