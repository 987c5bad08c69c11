"""Mood → song: the catalog, the per-user order, lift mode, the song service, Spotify enrichment."""
