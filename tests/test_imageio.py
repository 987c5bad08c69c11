"""Decoding untrusted image bytes: formats, EXIF orientation, broken files, bombs, big photos."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import data

from recommender.vision import imageio
from recommender.vision.imageio import (
    CorruptImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
    UnsupportedFormat,
    decode,
)


def encode(img: Image.Image | np.ndarray, fmt: str, **kw) -> bytes:
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_common_formats_decode_to_rgb_and_gray(fmt):
    astronaut = data.astronaut()
    im = decode(encode(astronaut, fmt))
    assert im.format == fmt
    assert im.original_size == (512, 512)
    assert im.rgb.shape == (512, 512, 3) and im.rgb.dtype == np.uint8
    assert im.gray.shape == (512, 512) and im.gray.dtype == np.uint8
    if fmt in ("PNG", "BMP"):  # lossless: the pixels are the pixels
        assert np.array_equal(im.rgb, astronaut)


def test_gray_is_luma():
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    im = decode(encode(red, "PNG"))
    assert abs(int(im.gray[0, 0]) - round(0.299 * 255)) <= 1


def test_transparent_png_is_shown_on_white():
    rgba = np.zeros((32, 32, 4), np.uint8)  # fully transparent black
    im = decode(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert im.rgb.min() == 255


def _marked(width=300, height=200) -> Image.Image:
    """A white image with a black block in its top-left corner."""
    arr = np.full((height, width, 3), 255, np.uint8)
    arr[:50, :50] = 0
    return Image.fromarray(arr)


@pytest.mark.parametrize(
    "orientation, size, dark_corner",
    [
        (1, (300, 200), "top-left"),
        (3, (300, 200), "bottom-right"),  # camera upside down
        (6, (200, 300), "top-right"),  # phone held upright: rotate 90° clockwise to view
        (8, (200, 300), "bottom-left"),
    ],
)
def test_exif_orientation_is_applied(orientation, size, dark_corner):
    exif = Image.Exif()
    exif[0x0112] = orientation
    im = decode(encode(_marked(), "JPEG", exif=exif.tobytes(), quality=95))
    assert im.original_size == size
    assert im.size == size
    h, w = im.gray.shape
    corners = {
        "top-left": im.gray[:20, :20],
        "top-right": im.gray[:20, w - 20 :],
        "bottom-left": im.gray[h - 20 :, :20],
        "bottom-right": im.gray[h - 20 :, w - 20 :],
    }
    for name, patch in corners.items():
        assert (patch.mean() < 60) == (name == dark_corner), name


def test_exif_orientation_is_applied_to_a_large_photo_decoded_at_reduced_size():
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = encode(_marked(4000, 2000), "JPEG", exif=exif.tobytes(), quality=90)
    im = decode(jpeg)
    assert im.original_size == (2000, 4000)
    assert max(im.size) <= imageio.WORK_SIDE and im.size[0] < im.size[1]
    h, w = im.gray.shape
    assert im.gray[:5, w - 5 :].mean() < 60 and im.gray[:5, :5].mean() > 200  # the mark is top-right


def test_large_photo_is_downscaled_and_keeps_original_coordinates():
    big = Image.fromarray(data.astronaut()).resize((4000, 4000), Image.Resampling.BILINEAR)
    im = decode(encode(big, "JPEG", quality=90))
    assert im.original_size == (4000, 4000)
    assert max(im.size) <= imageio.WORK_SIDE
    assert im.scale == pytest.approx(4000 / im.size[0])
    # libjpeg decoded it at a quarter of its size: the full-size pixels were never made.
    assert im.size == (1000, 1000)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height, followed by a few bytes of pixel data only.

    Decoding it would fail as truncated; refusing it as too large proves the size was checked
    from the header before any decoding started.
    """
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


@pytest.mark.parametrize("width, height", [(8000, 8000), (30000, 30000), (100_000, 1000)])
def test_decompression_bomb_is_refused_from_the_header(width, height):
    with pytest.raises(ImageTooLarge) as err:
        decode(_png_header_only(width, height))
    assert "too large" in err.value.user_message


def test_a_real_bomb_png_is_refused_before_decoding():
    # 10 000 × 10 000 black pixels compress to ~100 kB: small to send, 100 MP to decode.
    bomb = encode(Image.new("L", (10_000, 10_000)), "PNG")
    assert len(bomb) < 200_000
    with pytest.raises(ImageTooLarge):
        decode(bomb)
    # Cut short, it would fail as corrupt if any pixel were decoded; it is refused as too large.
    with pytest.raises(ImageTooLarge):
        decode(bomb[:2000])


def test_pixel_and_byte_caps_are_configurable():
    png = encode(data.astronaut(), "PNG")
    with pytest.raises(ImageTooLarge):
        decode(png, max_pixels=512 * 511)
    with pytest.raises(ImageTooLarge):
        decode(png, max_bytes=len(png) - 1)
    assert decode(png, max_pixels=512 * 512).original_size == (512, 512)


def test_truncated_jpeg_is_corrupt():
    jpeg = encode(data.astronaut(), "JPEG")
    for cut in (len(jpeg) // 2, 1000):
        with pytest.raises(CorruptImage):
            decode(jpeg[:cut])


def test_truncated_png_is_corrupt():
    png = encode(data.astronaut(), "PNG")
    with pytest.raises(CorruptImage):
        decode(png[: len(png) // 2])


@pytest.mark.parametrize(
    "payload",
    [b"", b"hello, this is a text file\n", bytes(range(256)) * 10, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"],
)
def test_non_images_are_refused(payload):
    with pytest.raises(NotAnImage):
        decode(payload)


def test_heic_gets_a_format_message_not_a_crash():
    heic_like = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
    with pytest.raises(UnsupportedFormat) as err:
        decode(heic_like)
    assert "JPEG" in err.value.user_message


def test_every_error_carries_a_friendly_message():
    for cls in (NotAnImage, UnsupportedFormat, CorruptImage, ImageTooLarge):
        err = cls("technical detail")
        assert isinstance(err, ImageError)
        assert err.user_message and "detail" not in err.user_message
        assert str(err) == "technical detail"


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 255, 255), (0, 0, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    im = decode(buf.getvalue())
    assert im.gray.min() > 200
