"""Face detection on real photos, on skimage's images, and under the conditions selfies bring."""
from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from recommender.vision import imageio
from bench.haar import HaarDetector
from recommender.vision.faces import load_detector
from recommender.paths import shared_data_dir
from shared_data import require

PHOTOS = shared_data_dir() / "photos"
# Faces a person sees in each group photo (multi_001: a fifth face is cut off by the frame at the nose).
GROUP_FACES = {"multi_001.jpeg": 4, "multi_002.jpg": 5, "multi_003.jpg": 2, "multi_004.jpg": 2}


@pytest.fixture(scope="module")
def detector():
    return load_detector()


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def faces_in(detector, arr: np.ndarray):
    return detector.detect(imageio.decode(png(arr)))


def labelled_photos():
    with open(require("photos", "labels.csv"), newline="") as f:
        return [(r["file"], r["label"]) for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def dev_results(detector):
    return {
        name: (label, detector.detect(imageio.decode((PHOTOS / name).read_bytes())))
        for name, label in labelled_photos()
    }


def test_one_face_photos_find_their_face(dev_results):
    single = {n: faces for n, (label, faces) in dev_results.items() if label not in ("noface", "multi")}
    missed = sorted(n for n, faces in single.items() if not faces)
    assert len(single) >= 60
    assert 1 - len(missed) / len(single) >= 0.98, f"missed: {missed}"
    # a one-face photo's largest detection is the person, not a second "face" beside it
    extra = sorted(n for n, faces in single.items() if len(faces) > 1)
    assert len(extra) <= 1, f"extra faces in: {extra}"


def test_no_face_photos_have_no_face(dev_results):
    noface = {n: faces for n, (label, faces) in dev_results.items() if label == "noface"}
    assert len(noface) >= 10
    assert {n: len(f) for n, f in noface.items() if f} == {}


def test_group_photos_find_every_face(dev_results):
    counts = {n: len(faces) for n, (label, faces) in dev_results.items() if label == "multi"}
    assert counts == GROUP_FACES


def test_skipping_the_full_range_model_beside_a_near_face_changes_no_face(detector):
    """Issue 28: a selfie's near face spares the full-range pass; every labelled photo (full and
    reduced decode, as the bot reads it) still gets the faces that both models together find."""
    from recommender.vision.faces import BlazeFaceDetector

    both = BlazeFaceDetector(full_when_near=True)
    spared = 0
    for name, _ in labelled_photos():
        data = (PHOTOS / name).read_bytes()
        for reduced in (None, 640):
            image = imageio.decode(data, reduced_side=reduced)
            shortcut = detector.detect(image)
            assert [f.box for f in shortcut] == [f.box for f in both.detect(image)], name
            longest = max(image.original_size)
            spared += any(max(f.box.w, f.box.h) >= detector.near_fraction * longest for f in shortcut)
    assert spared >= 100  # the shortcut is taken on most photos, so the comparison means something


def test_faces_come_largest_first_inside_the_image(dev_results):
    for name, (_, faces) in dev_results.items():
        areas = [f.box.area for f in faces]
        assert areas == sorted(areas, reverse=True), name
        w, h = Image.open(PHOTOS / name).size  # all dev photos are stored upright
        for f in faces:
            assert 0 <= f.box.x and f.box.x + f.box.w <= w and 0 <= f.box.y and f.box.y + f.box.h <= h, name


def test_astronaut_has_one_face_where_her_face_is(detector):
    faces = faces_in(detector, data.astronaut())
    assert len(faces) == 1
    b = faces[0].box
    # Eileen Collins' face spans roughly x 170–280, y 60–190 in the 512×512 image.
    assert 150 <= b.x <= 200 and 50 <= b.y <= 110 and 80 <= b.w <= 150


@pytest.mark.parametrize("image", ["coffee", "chelsea", "rocket", "camera_gray_noise"])
def test_no_face_in_cups_cats_and_things(detector, image):
    if image == "camera_gray_noise":
        arr = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    else:
        arr = getattr(data, image)()
    assert faces_in(detector, arr) == []


def test_boxes_are_in_original_pixels_of_a_4000px_photo(detector):
    small = faces_in(detector, data.astronaut())[0].box
    big = Image.fromarray(data.astronaut()).resize((4000, 4000), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    faces = detector.detect(imageio.decode(buf.getvalue()))
    assert len(faces) == 1
    k = 4000 / 512
    b = faces[0].box
    for got, want in ((b.x, small.x * k), (b.y, small.y * k), (b.w, small.w * k)):
        assert abs(got - want) < 0.1 * small.w * k


@pytest.mark.parametrize("degrees", [-20, 20])
def test_tilted_face_is_found(detector, degrees):
    a = data.astronaut()
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    faces = faces_in(detector, cv2.warpAffine(a, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    assert len(faces) == 1


def test_dim_photo_still_has_its_face(detector):
    dim = ((data.astronaut().astype(np.float32) / 255) ** 1.6 * 0.25 * 255).astype(np.uint8)
    assert dim.mean() < 30
    assert len(faces_in(detector, dim)) == 1


def test_detector_is_safe_to_share_between_threads(detector):
    images = [imageio.decode(png(a)) for a in (data.astronaut(), data.coffee(), data.chelsea())] * 8
    sequential = [[f.box for f in detector.detect(im)] for im in images]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda im: [f.box for f in detector.detect(im)], images))
    assert parallel == sequential


def test_haar_baseline_finds_the_astronaut_and_no_coffee():
    haar = HaarDetector()
    assert len(faces_in(haar, data.astronaut())) == 1
    assert faces_in(haar, data.coffee()) == []


def test_unknown_detector_name_is_a_clear_error():
    with pytest.raises(ValueError, match="blazeface"):
        load_detector("nope")
