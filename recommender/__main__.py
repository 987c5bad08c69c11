"""Run the whole pipeline on image files, without Telegram.

    python -m recommender [--json] IMAGE [IMAGE ...]

One readable block per image, or with --json exactly one JSON object per line per image:
{"file", "image_size", "faces": [{"box", "score", "emotion", "confidence", "scores"}] (raw model
output per face), then what the bot decides for the largest face, with the numbers it shows:
"emotion", "emotion_scores" (calibrated), "mood_probs", "mood", "confidence" (the mood's: the
number the bot shows and acts on), "decision" ("answer", or "ask" with the two moods "offered"),
"model" (the face model used), "song": {"track_id", "name", "artist", "url"} | null (the song for
"mood"; when the bot asks, the one its best guess serves), "error": null | str}.
A file that cannot be read or is no usable image gets its own line/block with `error`; the
other files still run. Models load once per process. Songs come from the bot's own song service,
as the bot would answer one user (id 0) sending these photos in turn: no song twice. That history
lives in memory only.

Exit status: 0 when every file was analysed (a photo without a face counts as analysed: its
answer is "no face"); 1 when at least one file had an error; 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .decision import decide
from .vision.imageio import ImageError

CLI_USER = 0
_ERROR_KIND = {"NotAnImage": "not an image", "UnsupportedFormat": "unsupported image format",
               "CorruptImage": "damaged image", "ImageTooLarge": "image too large",
               "ImageTooSmall": "image too small"}


async def _open_songs():
    """The song service over an in-memory history, or (None, why) when the catalog is unusable:
    the CLI still analyses the images then (the song is null)."""
    from .music.catalog import Catalog
    from .music.service import SongService
    from .store.sqlite import SQLiteHistoryStore

    try:
        catalog = Catalog.load()
    except Exception as e:  # missing file, bad CSV: report once, keep going
        return None, f"catalog unavailable: {e}"
    return SongService(catalog, await SQLiteHistoryStore.open(":memory:")), None


async def analyse_file(pipeline, songs, path: str) -> dict:
    record: dict = {"file": path, "image_size": None, "faces": [], "emotion": None, "confidence": None,
                    "mood": None, "decision": None, "offered": [], "mood_probs": None,
                    "emotion_scores": None, "model": None, "song": None, "error": None}
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        record["error"] = f"cannot read file: {e.strerror or e}"
        return record
    try:
        analysis = pipeline.analyze(data)
    except ImageError as e:  # the technical reason (e.g. the pixel cap), not the chat text
        record["error"] = f"{_ERROR_KIND.get(type(e).__name__, 'unusable image')}: {e}"
        return record
    except Exception as e:  # a bug on one file must not hide the results of the others
        record["error"] = f"internal error: {type(e).__name__}: {e}"
        return record
    record.update(analysis.as_dict())
    if analysis.faces:
        # The bot's own decision for a person without corrections: the same numbers it shows.
        calibration = pipeline.calibration
        decision = decide(calibration.read(analysis.faces[0].scores.probs), calibration.unsure_below)
        record.update(decision.as_dict())
        record["confidence"] = record.pop("mood_confidence")
    pick = await songs.next(CLI_USER, record["mood"]) if songs and record["mood"] else None
    record["song"] = pick.song.as_dict() if pick else None
    return record


def format_block(r: dict) -> str:
    lines = [r["file"]]
    if r["error"]:
        lines.append(f"  error: {r['error']}")
        return "\n".join(lines)
    w, h = r["image_size"]
    n = len(r["faces"])
    lines[0] += f"  ({w}×{h}, {n} face{'s' if n != 1 else ''})"
    if not n:
        lines.append("  no face found (try good light, facing the camera)")
        return "\n".join(lines)
    for i, face in enumerate(r["faces"], 1):
        top = sorted(face["scores"].items(), key=lambda kv: -kv[1])[:3]
        others = ", ".join(f"{e} {p:.0%}" for e, p in top[1:])
        lines.append(f"  face {i} at {face['box']}: {face['emotion']} {face['confidence']:.0%} ({others})")
    if r["decision"] == "ask":
        lines.append(f"  mood: unsure ({r['confidence']:.0%}), the bot asks: {' or '.join(r['offered'])}?")
    else:
        lines.append(f"  mood: {r['mood']} ({r['confidence']:.0%})")
    song = r["song"]
    lines.append(f"  song: {song['name']} — {song['artist']}  {song['url']}" if song else "  song: none")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recommender", description="Selfie → emotion → mood → song, offline.")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="one JSON object per line per image")
    p.add_argument("--detector", default=None, help="face detector: blazeface (default), blazeface-short or blazeface-full")
    p.add_argument("--model", default=None, help="emotion .tflite (default: models/emotion.tflite)")
    args = p.parse_args(argv)

    from .pipeline import Pipeline  # after argument parsing: --help stays instant

    load_kwargs = {k: v for k, v in (("detector", args.detector), ("emotion_model", args.model)) if v}
    try:
        pipeline = Pipeline.load(**load_kwargs)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return asyncio.run(_run(pipeline, args.images, args.json))


async def _run(pipeline, images: list[str], as_json: bool) -> int:
    songs, songs_error = await _open_songs()
    if songs_error:
        print(f"warning: {songs_error}", file=sys.stderr)
    failed = False
    try:
        for i, path in enumerate(images):
            record = await analyse_file(pipeline, songs, path)
            failed |= record["error"] is not None
            if as_json:
                print(json.dumps(record, ensure_ascii=False), flush=True)
            else:
                print(("\n" if i else "") + format_block(record), flush=True)
    finally:
        if songs is not None:
            await songs.store.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
