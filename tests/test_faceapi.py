"""face-api.js's expression model as we serve it: loads, reads faces, and is what the converter makes."""
from __future__ import annotations

import shutil
import sys
import threading

import numpy as np
import pytest

from recommender.paths import FACE_EXPRESSION_TFLITE
from recommender.types import EMOTIONS
from recommender.vision import imageio
from recommender.vision.faceapi import INPUT_SIZE, FaceApiExpression, crop_faces
from recommender.vision.faces import load_detector
from shared_data import require, unavailable


@pytest.fixture(scope="module")
def model():
    return FaceApiExpression()


def first_face(name: str):
    """A shared photo's working RGB and its largest BlazeFace box in that image's pixels."""
    image = imageio.decode(require("photos", name).read_bytes())
    faces = load_detector().detect(image)
    assert faces, f"no face found in {name}"
    b, s = faces[0].box, image.scale
    return image.rgb, (b.x / s, b.y / s, b.w / s, b.h / s)


def test_model_gives_a_distribution_per_face_in_one_batch(model):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    # The last box reaches past the image's corner.
    boxes = [(10.0, 20.0, 100.0, 120.0), (200.5, 50.25, 80.0, 60.0), (350.0, 250.0, 90.0, 90.0)]
    probs = model.predict_rgb(rgb, boxes)
    assert probs.shape == (3, len(EMOTIONS)) and probs.dtype == np.float32
    assert np.all(probs >= 0) and np.allclose(probs.sum(1), 1, atol=1e-5)
    one_by_one = np.concatenate([model.predict_rgb(rgb, [b]) for b in boxes])
    assert np.allclose(probs, one_by_one, atol=1e-5)
    assert model.predict_rgb(rgb, []).shape == (0, len(EMOTIONS))


def test_bad_inputs_are_refused_clearly(model):
    with pytest.raises(ValueError, match="uint8 RGB"):
        model.predict_rgb(np.zeros((50, 50), np.uint8), [(0, 0, 10, 10)])
    with pytest.raises(ValueError, match="empty face box"):
        model.predict_rgb(np.zeros((50, 50, 3), np.uint8), [(5, 5, 0, 10)])


def test_crop_is_a_square_about_the_box_with_the_edge_repeated():
    rgb = np.zeros((200, 300, 3), np.uint8)
    rgb[50:150, 100:180] = (255, 0, 0)  # an 80×100 red "face"
    rgb[:, 290:] = (0, 0, 255)  # a blue strip at the right edge
    crop = crop_faces(rgb, [(100, 50, 80, 100)], margin=0.05)[0]
    assert crop.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    # Side 110 px about the box: 5 px of black above and below, 15 px left and right of the red.
    red = np.argwhere((crop[..., 0] > 128) & (crop[..., 2] < 128))
    rows, cols = red[:, 0], red[:, 1]
    assert abs(rows.min() - 5 * INPUT_SIZE / 110) <= 1 and abs(rows.max() + 1 - 105 * INPUT_SIZE / 110) <= 1
    assert abs(cols.min() - 15 * INPUT_SIZE / 110) <= 1 and abs(cols.max() + 1 - 95 * INPUT_SIZE / 110) <= 1
    # A box at the right edge: the part beyond the image repeats the blue edge column.
    edge = crop_faces(rgb, [(250, 50, 80, 100)], margin=0.05)[0]
    assert np.all(edge[:, -10:, 2] > 200)


def test_a_happy_photo_reads_happy_and_its_mirror_agrees(model):
    for name in ("happy_001.jpg", "happy_002.jpg"):
        rgb, (x, y, w, h) = first_face(name)
        probs = model.predict_rgb(rgb, [(x, y, w, h)])[0]
        assert EMOTIONS[int(probs.argmax())] == "happy" and probs.max() > 0.5, name
        mirrored = np.ascontiguousarray(rgb[:, ::-1])
        probs_m = model.predict_rgb(mirrored, [(rgb.shape[1] - x - w, y, w, h)])[0]
        assert probs_m.argmax() == probs.argmax() and np.abs(probs - probs_m).max() < 0.05, name


def test_concurrent_callers_get_their_own_answers(model):
    rng = np.random.default_rng(2)
    batches = [rng.integers(0, 256, (k, INPUT_SIZE, INPUT_SIZE, 3)).astype(np.uint8) for k in (1, 2, 3, 4)]
    expected = [model.run(b) for b in batches]
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(len(batches))}

    def worker(i: int) -> None:
        for _ in range(20):
            results[i].append(model.run(batches[i]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(batches))]
    # Switch threads as often as possible, so unguarded resize/set/invoke/get calls would interleave.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    for i, outs in results.items():
        assert len(outs) == 20 and all(np.array_equal(o, expected[i]) for o in outs)


def source_dir():
    from training.convert_face_models import default_src

    src = default_src()
    if not (src / "face_expression_model-shard1").exists():
        unavailable(f"face-api.js weights not found: {src} (set MML_MODELS_DIR to the shared models folder)")
    return src


def test_converter_reproduces_the_committed_model(tmp_path):
    from training.convert_face_models import check_inputs, main

    src = source_dir()
    assert main(["--src", str(src), "--out-dir", str(tmp_path), "--no-card"]) == 0
    x = check_inputs()
    rebuilt = FaceApiExpression(tmp_path / FACE_EXPRESSION_TFLITE.name, num_threads=1).run(x)
    shipped = FaceApiExpression(num_threads=1).run(x)
    assert np.abs(rebuilt - shipped).max() < 1e-6


def test_converter_refuses_weights_that_are_not_the_published_ones(tmp_path):
    from training.convert_face_models import MANIFEST, SHARD, read_weights

    src = source_dir()
    shutil.copy(src / MANIFEST, tmp_path / MANIFEST)
    shard = bytearray((src / SHARD).read_bytes())
    shard[100] ^= 1
    (tmp_path / SHARD).write_bytes(bytes(shard))
    with pytest.raises(ValueError, match="sha256"):
        read_weights(tmp_path)
