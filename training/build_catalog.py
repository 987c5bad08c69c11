"""Build data/catalog.csv: the hand-labelled songs, plus (later steps) model-labelled ones.

    python -m training.build_catalog --hand-labelled-only
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from recommender.paths import CATALOG_PATH

from .songs_data import CATALOG_COLUMNS, load_data_moods


def hand_labelled() -> pd.DataFrame:
    df = load_data_moods()
    df["confidence"] = 1.0
    df["label_source"] = "human"
    return df


def write_catalog(df: pd.DataFrame, path: Path) -> None:
    """Write atomically: a half-written catalog must never replace a good one."""
    out = df.loc[:, list(CATALOG_COLUMNS)].copy()
    for col in ("valence", "energy", "acousticness", "instrumentalness", "danceability"):
        out[col] = out[col].round(4)
    out["tempo"] = out["tempo"].round(1)
    out["confidence"] = out["confidence"].round(4)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=CATALOG_PATH)
    ap.add_argument("--hand-labelled-only", action="store_true",
                    help="only the 686 songs of data_moods.csv with their human labels")
    args = ap.parse_args(argv)
    df = hand_labelled()
    df = df.sort_values(["mood", "popularity"], ascending=[True, False])
    write_catalog(df, args.out)
    print(df["mood"].value_counts().sort_index().to_string())
    print(f"wrote {len(df)} songs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
