"""Image bytes → an upright, size-capped RGB + grayscale image, entirely in memory.

Untrusted bytes are checked in this order, so the expensive or dangerous step comes last:
byte size → format (from the header, allow-listed) → pixel count (from the header, before any
pixel is decoded: decompression bombs) → decoding cost (from the header too: the bytes the
decoder and Pillow will hold, e.g. 16 a pixel for WebP, which must fit the process-wide
`DecodeBudget` shared by all workers) → decode (JPEG is decoded straight to a reduced size
through libjpeg's DCT scaling, so a 4000×4000 photo costs a fraction of a full decode) →
reduction to at most two working sides a strip at a time (the full-size pixels stay the only
full-size copy) → EXIF orientation → downscale to a working size. Nothing is written to disk.
"""
from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

# Hard caps; the bot may pass stricter ones.
MAX_BYTES = 20 * 1024 * 1024  # Telegram's Bot API serves files up to 20 MB
MAX_PIXELS = 40_000_000  # ≈ 7700×5200; a full decode of a non-JPEG at the cap is ~120 MB RGB
WORK_SIDE = 1280  # the longest side detection and cropping work on; faces stay ≫ 48 px
# Decoded bytes all workers may hold at once (see DecodeBudget): a 12.9 MP PNG, a 19 MP progressive
# JPEG or a 3.3 MP WebP fits; a 40 MP transparent WebP (640 MB to decode) is refused unread.
DECODE_BUDGET = 64 * 1024 * 1024

# Formats people send as photos or files. Everything else is refused before decoding, which
# also keeps Pillow's rarer (and historically less hardened) decoders out of reach.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
ACCEPTED = (*FORMATS, "MPO")  # MPO: multi-picture JPEGs some phones write; the JPEG plugin opens them

Image.init()  # register every plugin now, so `formats=` below can name them all
# Truncated files must fail loudly, not decode half a face.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(ValueError):
    """An image we cannot use; `user_message` is safe and friendly to show to a person."""

    user_message = "I couldn't read that image."

    def __init__(self, detail: str = "", user_message: str | None = None):
        if user_message is not None:
            self.user_message = user_message
        super().__init__(detail or self.user_message)


class NotAnImage(ImageError):
    user_message = "That doesn't look like an image. Please send a photo (JPEG, PNG or WebP)."


class UnsupportedFormat(ImageError):
    user_message = "I can't read this image format. Please send a JPEG, PNG or WebP photo."


class CorruptImage(ImageError):
    user_message = "This image seems damaged or incomplete. Could you send it again?"


class ImageTooLarge(ImageError):
    user_message = "This image is too large for me. Please send it as a normal photo (not as a file)."


class ImageTooSmall(ImageError):
    user_message = "This image is too small to see a face. Please send a bigger photo."


class DecodeBudget:
    """Bytes of decoded pixels the process holds at once, shared by every worker thread: a
    decode waits until its cost fits, and one that could never fit is refused."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._used = 0
        self._cond = threading.Condition()

    @property
    def used(self) -> int:
        return self._used

    @contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        if cost > self.total:
            raise ImageTooLarge(f"decoding needs {cost >> 20} MiB > {self.total >> 20} MiB")
        with self._cond:
            self._cond.wait_for(lambda: self._used + cost <= self.total)
            self._used += cost
        try:
            yield
        finally:
            with self._cond:
                self._used -= cost
                self._cond.notify_all()


BUDGET = DecodeBudget(DECODE_BUDGET)


# A face box in the working image's (sub)pixels: x, y, w, h. What the face models crop from.
WorkBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class DecodedImage:
    """An upright image at working size, with the factor back to original pixels.

    `rgb` (H, W, 3) uint8 and `gray` (H, W) uint8 are the working image; a point (x, y) in
    them is (x * scale, y * scale) in the original, EXIF-rotated image of `original_size`.
    """

    rgb: np.ndarray
    gray: np.ndarray
    original_size: tuple[int, int]  # (width, height) after EXIF rotation
    scale: float
    format: str
    reduced: bool = False  # decoded below the full detail (reduced_side): more pixels exist

    @property
    def size(self) -> tuple[int, int]:
        return self.gray.shape[1], self.gray.shape[0]


def decode(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    work_side: int = WORK_SIDE,
    budget: DecodeBudget | None = None,
    reduced_side: int | None = None,
) -> DecodedImage:
    """Decode untrusted bytes; raises an `ImageError` subclass for anything unusable.

    The full-size pixels are held under `budget` (default: the process-wide `BUDGET`), so
    workers decoding at once never hold more than its total; an image that alone would cost more
    is refused from its header. A JPEG is decoded at the smallest DCT scale that keeps both sides
    ≥ work_side / 2, or with `reduced_side`, that keeps its longest side ≥ reduced_side (a
    1280×960 selfie at 640×480: a quarter of the pixels to decode, detect on and crop from)."""
    if not data:
        raise NotAnImage("empty input")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes > {max_bytes}")
    with warnings.catch_warnings():
        # Pillow's own bomb warning/error is superseded by our explicit cap below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            rgb, turned, fmt, original, reduced = _decode_small(
                data, max_pixels=max_pixels, work_side=work_side, budget=budget or BUDGET,
                reduced_side=reduced_side)
        except ImageError:
            raise
        except Image.DecompressionBombError as e:
            raise ImageTooLarge(str(e)) from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise CorruptImage(f"decode failed: {e}") from None
    if turned:  # a 90° EXIF turn swaps width and height
        original = (original[1], original[0])
    longest = max(rgb.size)
    if longest > work_side:
        factor = work_side / longest
        rgb = rgb.resize(
            (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor))),
            Image.Resampling.BILINEAR,
            reducing_gap=2.0,
        )
    arr = np.asarray(rgb, dtype=np.uint8)
    gray = np.asarray(rgb.convert("L"), dtype=np.uint8)
    return DecodedImage(
        rgb=arr,
        gray=gray,
        original_size=original,
        scale=original[0] / arr.shape[1],
        format=fmt,
        reduced=reduced,
    )


def _open(data: bytes) -> Image.Image:
    """The image's header parsed; no pixel decoded yet."""
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        if _looks_like_other_image(data):
            raise UnsupportedFormat("image format not accepted") from None
        raise NotAnImage("not a recognised image") from None
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(str(e)) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise CorruptImage(f"unreadable header: {e}") from None


def _decode_small(data: bytes, *, max_pixels: int, work_side: int, budget: DecodeBudget,
                  reduced_side: int | None = None) -> tuple[Image.Image, bool, str, tuple[int, int], bool]:
    """(RGB copy of at most ~2 work sides, turned by 90°?, format, original size, reduced below
    the full detail?): the full-size pixels exist only inside the budget, and are gone before it
    is given back."""
    im = _open(data)
    try:
        fmt, original, cost = _plan(im, max_pixels=max_pixels, work_side=work_side,
                                    reduced_side=reduced_side)
    except BaseException:
        im.close()
        raise
    with budget.hold(cost):
        try:
            small, turned = _load_small(im, work_side)
        finally:
            im.close()
            del im  # WebP keeps its decoder's canvas until the image object itself is gone
    reduced = fmt in ("JPEG", "MPO") and reduced_side is not None and (
        _draft_scale(original, _jpeg_box(original, work_side, reduced_side))
        > _draft_scale(original, _jpeg_box(original, work_side, None)))
    return small, turned, fmt, original, reduced


def _plan(im: Image.Image, *, max_pixels: int, work_side: int,
          reduced_side: int | None = None) -> tuple[str, tuple[int, int], int]:
    """Checks from the header alone, then (format, original size, bytes decoding will hold)."""
    fmt = im.format or "?"
    if fmt not in ACCEPTED:
        raise UnsupportedFormat(f"format {fmt}")
    width, height = im.size  # from the header; nothing decoded yet
    if width * height > max_pixels:
        raise ImageTooLarge(f"{width}×{height} = {width * height} px > {max_pixels}")
    if min(width, height) < 16:
        raise ImageTooSmall(f"{width}×{height}")
    if fmt in ("JPEG", "MPO"):
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale almost for free; asking for half the working
        # side keeps the result at least that large, so faces stay far above 48 px.
        im.draft("RGB", _jpeg_box((width, height), work_side, reduced_side))
    return fmt, (width, height), decode_cost(im, width, height, work_side)


def _jpeg_box(size: tuple[int, int], work_side: int, reduced_side: int | None) -> tuple[int, int]:
    """The box to ask JPEG's draft() for: it keeps both sides ≥ the box, so half the working side
    (full detail), or with `reduced_side`, a box of the image's shape (its longest side ≥ it)."""
    if reduced_side is None:
        return work_side // 2, work_side // 2
    width, height = size
    longest = max(width, height)
    return max(1, -(-reduced_side * width // longest)), max(1, -(-reduced_side * height // longest))


def _draft_scale(size: tuple[int, int], box: tuple[int, int]) -> int:
    """The DCT reduction Pillow's JPEG draft() picks for `box` (JpegImagePlugin.draft)."""
    scale = min(size[0] // box[0], size[1] // box[1])
    return next(s for s in (8, 4, 2, 1) if scale >= s or s == 1)


def decode_cost(im: Image.Image, width: int, height: int, work_side: int = WORK_SIDE) -> int:
    """Bytes an opened image will hold while decoded: the decoder's own buffers, Pillow's
    pixels (after any JPEG draft), and the reduced working copy made from them strip by strip."""
    if im.format == "WEBP":
        native = 16 * width * height  # libwebp's canvas + its disposal copy + Pillow's copy, measured
    else:
        native = _bytes_per_pixel(im.mode) * im.width * im.height
        if im.format in ("JPEG", "MPO") and im.info.get("progressive"):
            native += _coefficient_bytes(im, width, height)
    factor = _factor(im.size, work_side)
    small = 4 * -(-im.width // factor) * -(-im.height // factor)
    strip = 5 * 4 * _STRIP_ROWS * factor * im.width  # a strip's crop, RGBA, white, composite, RGB
    return native + small + strip


def _bytes_per_pixel(mode: str) -> int:
    # Pillow keeps 1-byte modes as bytes, 16-bit as 2, every other mode in 4 bytes a pixel.
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def _coefficient_bytes(im: Image.Image, width: int, height: int) -> int:
    """A progressive JPEG keeps every DCT coefficient of the full image (2 bytes each) whatever
    the output scale: 3 bytes a pixel for 4:2:0 colour, 6 for 4:4:4."""
    layers = getattr(im, "layer", None) or []
    try:
        hmax = max(h for _, h, _, _ in layers)
        vmax = max(v for _, _, v, _ in layers)
        share = sum(h * v for _, h, v, _ in layers) / (hmax * vmax)
    except (ValueError, TypeError, ZeroDivisionError):
        share = 4.0  # unknown layout: assume the worst (CMYK, no subsampling)
    return int(2 * share * width * height)


_STRIP_ROWS = 16  # output rows converted at once: a few MB whatever the image size


def _factor(size: tuple[int, int], work_side: int) -> int:
    """The integer reduction that leaves the longest side between 1 and 2 work sides."""
    return max(1, -(-max(size) // (2 * work_side)))


def _load_small(im: Image.Image, work_side: int) -> tuple[Image.Image, bool]:
    """The first frame decoded, then turned into an RGB copy of at most ~2 work sides, a strip
    at a time, so the full-size pixels are the only full-size copy; then EXIF-turned upright."""
    im.load()  # the first frame of an animation
    orientation = _orientation(im)  # read after load, so EXIF stored after the pixels counts too
    factor = _factor(im.size, work_side)  # an integer box reduction; decode() resizes the rest
    if factor == 1 and im.mode == "RGB":
        small = im.copy()
    else:
        small = Image.new("RGB", (-(-im.width // factor), -(-im.height // factor)))
        step = _STRIP_ROWS * factor
        for top in range(0, im.height, step):
            strip = _to_rgb(im.crop((0, top, im.width, min(im.height, top + step))))
            small.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    method = _TRANSPOSE.get(orientation)
    return (small.transpose(method) if method is not None else small), orientation in (5, 6, 7, 8)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Transparent pixels become white, as a chat client would show them.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode == "I;16" or im.mode.startswith("I;16"):
        return im.point(lambda v: v / 256).convert("RGB")
    return im.convert("RGB")


def _looks_like_other_image(data: bytes) -> bool:
    """HEIC/AVIF (ISO-BMFF 'ftyp' box) or TIFF: images, just not ones we accept."""
    head = data[:16]
    return head[4:8] == b"ftyp" or head[:4] in (b"II*\x00", b"MM\x00*")


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # EXIF orientation → the turn that makes it upright (as ImageOps.exif_transpose)


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a broken EXIF block should not lose an otherwise good photo
        return 1


__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "WORK_SIDE",
    "BUDGET",
    "CorruptImage",
    "DecodeBudget",
    "DecodedImage",
    "ImageError",
    "ImageTooLarge",
    "ImageTooSmall",
    "NotAnImage",
    "UnsupportedFormat",
    "decode",
    "decode_cost",
]
