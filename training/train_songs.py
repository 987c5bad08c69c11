"""Fit and ship the song-mood model: `python -m training.train_songs` (= evaluate_songs --save)."""
from __future__ import annotations

import sys

from .evaluate_songs import main

if __name__ == "__main__":
    sys.exit(main(["--save", *sys.argv[1:]]))
