"""`python -m recommender`: the offline pipeline as a person runs it from a shell."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from PIL import Image
from skimage import data

from recommender.music.catalog import Catalog
from recommender.__main__ import CLI_USER
from recommender.paths import PROJECT_ROOT

KEYS = {"file", "faces", "emotion", "mood", "song", "error"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recommender", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    files = {}
    for name, arr, fmt in (("astronaut.jpg", data.astronaut(), "JPEG"), ("coffee.png", data.coffee(), "PNG")):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, fmt)
        (d / name).write_bytes(buf.getvalue())
        files[name] = str(d / name)
    (d / "notes.jpg").write_text("this is text with a .jpg name\n")
    files["notes.jpg"] = str(d / "notes.jpg")
    files["missing.jpg"] = str(d / "missing.jpg")
    return files


@pytest.fixture(scope="module")
def json_run(images):
    order = ["astronaut.jpg", "notes.jpg", "missing.jpg", "coffee.png"]
    proc = run_cli("--json", *(images[n] for n in order))
    lines = proc.stdout.splitlines()
    return proc, dict(zip(order, (json.loads(line) for line in lines))), lines


def test_json_gives_one_object_per_line_per_image(json_run, images):
    proc, records, lines = json_run
    assert len(lines) == 4, proc.stdout + proc.stderr
    for name, rec in records.items():
        assert KEYS <= set(rec), name
        assert rec["file"] == images[name]
    assert "Traceback" not in proc.stderr


def test_json_astronaut_gets_happy_and_the_song_the_bot_serves_first(json_run):
    rec = json_run[1]["astronaut.jpg"]
    assert rec["error"] is None
    assert rec["emotion"] == "happy" and rec["mood"] == "happy"
    (face,) = rec["faces"]
    assert len(face["box"]) == 4 and face["emotion"] == "happy"
    assert abs(sum(face["scores"].values()) - 1) < 0.01
    first = Catalog.load().order_for_user("happy", CLI_USER)[0]  # the song service's first pick
    assert rec["song"] == {"track_id": first.track_id, "name": first.name, "artist": first.artist,
                           "url": f"https://open.spotify.com/track/{first.track_id}"}


def test_json_no_face_is_a_result_not_an_error(json_run):
    rec = json_run[1]["coffee.png"]
    assert rec["error"] is None and rec["faces"] == [] and rec["emotion"] is None and rec["song"] is None


def test_json_bad_and_missing_files_get_their_own_error_line(json_run):
    proc, records, _ = json_run
    assert records["notes.jpg"]["error"] == "not an image: not a recognised image"
    assert "No such file" in records["missing.jpg"]["error"]
    for name in ("notes.jpg", "missing.jpg"):
        assert records[name]["faces"] == [] and records[name]["song"] is None
    assert proc.returncode == 1  # some file could not be analysed


def test_readable_output_and_exit_code_zero_when_all_analysed(images):
    proc = run_cli(images["astronaut.jpg"], images["coffee.png"])
    assert proc.returncode == 0, proc.stderr
    blocks = proc.stdout.strip().split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].startswith(images["astronaut.jpg"]) and "happy" in blocks[0]
    assert "mood: happy" in blocks[0] and "https://open.spotify.com/track/" in blocks[0]
    assert "no face found" in blocks[1]


def test_usage_error_without_images():
    proc = run_cli()
    assert proc.returncode == 2 and "IMAGE" in proc.stderr
