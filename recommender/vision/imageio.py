"""Image bytes → an upright, size-capped RGB + grayscale image, entirely in memory.

Untrusted bytes are checked in this order, so the expensive or dangerous step comes last:
byte size → format (from the header, allow-listed) → pixel count (from the header, before any
pixel is decoded: decompression bombs) → decode (JPEG is decoded straight to a reduced size
through libjpeg's DCT scaling, so a 4000×4000 photo costs a fraction of a full decode) →
EXIF orientation → downscale to a working size. Nothing is written to disk.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

# Hard caps; the bot may pass stricter ones.
MAX_BYTES = 20 * 1024 * 1024  # Telegram's Bot API serves files up to 20 MB
MAX_PIXELS = 40_000_000  # ≈ 7700×5200; a full decode of a non-JPEG at the cap is ~120 MB RGB
WORK_SIDE = 1280  # the longest side detection and cropping work on; faces stay ≫ 48 px

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

    @property
    def size(self) -> tuple[int, int]:
        return self.gray.shape[1], self.gray.shape[0]


def decode(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    work_side: int = WORK_SIDE,
) -> DecodedImage:
    """Decode untrusted bytes; raises an `ImageError` subclass for anything unusable."""
    if not data:
        raise NotAnImage("empty input")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes > {max_bytes}")
    with warnings.catch_warnings():
        # Pillow's own bomb warning/error is superseded by our explicit cap below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            if _looks_like_other_image(data):
                raise UnsupportedFormat("image format not accepted") from None
            raise NotAnImage("not a recognised image") from None
        except Image.DecompressionBombError as e:
            raise ImageTooLarge(str(e)) from None
        except (OSError, SyntaxError, ValueError) as e:
            raise CorruptImage(f"unreadable header: {e}") from None
        with im:
            return _decode_opened(im, max_pixels=max_pixels, work_side=work_side)


def _decode_opened(im: Image.Image, *, max_pixels: int, work_side: int) -> DecodedImage:
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
        im.draft("RGB", (work_side // 2, work_side // 2))
    try:
        im.load()  # the first frame of an animation
        upright, turned = _exif_transpose(im)
        rgb = _to_rgb(upright)
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(str(e)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise CorruptImage(f"decode failed: {e}") from None
    # Original size after rotation: a 90° EXIF turn swaps width and height.
    original = (height, width) if turned else (width, height)
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
    )


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


def _exif_transpose(im: Image.Image) -> tuple[Image.Image, bool]:
    """The loaded (possibly draft-scaled) image turned upright, and whether it turned by 90°."""
    try:
        # Read after load, as exif_transpose reads it, so EXIF stored after the pixels counts too.
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation != 1:
            return ImageOps.exif_transpose(im), orientation in (5, 6, 7, 8)
    except Exception:  # a broken EXIF block should not lose an otherwise good photo
        pass
    return im, False


__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "WORK_SIDE",
    "CorruptImage",
    "DecodedImage",
    "ImageError",
    "ImageTooLarge",
    "ImageTooSmall",
    "NotAnImage",
    "UnsupportedFormat",
    "decode",
]
