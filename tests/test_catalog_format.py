"""A self-hoster's own catalog: the documented minimal CSV loads, and the defaults fill the rest."""
from __future__ import annotations

from recommender.music.catalog import Catalog


def test_minimal_catalog_with_only_the_required_columns(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("track_id,name,mood\n"
                    "4uLU6hMCjMI75M1A2tKUQC,Never Gonna Give You Up,happy\n"
                    "0nJW01T7XtvILxQgC5J7Wh,When I Was Your Man,sad\n")
    catalog = Catalog.load(path)
    assert len(catalog) == 2 and catalog.moods == ("happy", "sad")
    song = catalog.get("4uLU6hMCjMI75M1A2tKUQC")
    assert song.artist == "Unknown artist" and song.confidence == 1.0 and (song.valence, song.energy) == (0.5, 0.5)
    assert song.url == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
