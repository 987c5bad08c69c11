"""Image bombs: files small to send but costly to decode are refused from their header, and the
decoded pixels all workers hold at once stay within one budget (issue 29, point 1)."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from bot_harness import astronaut, bot_config, running_bot, selfie_jpeg
from recommender.vision import imageio
from recommender.vision.imageio import DecodeBudget, ImageTooLarge, decode


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def transparent_webp(side: int) -> bytes:
    """A fully transparent square: a few hundred bytes, 16 bytes a pixel to decode through libwebp."""
    return encode(Image.new("RGBA", (side, side), (0, 0, 0, 0)), "WEBP", lossless=True)


def test_a_transparent_webp_under_the_pixel_cap_is_refused_before_decoding():
    bomb = transparent_webp(4000)  # 16 MP, far under the 40 MP cap; ~250 MB to decode
    assert len(bomb) < 2_000 and 4000 * 4000 < imageio.MAX_PIXELS
    with pytest.raises(ImageTooLarge) as err:
        decode(bomb)
    assert "too large" in err.value.user_message
    assert imageio.BUDGET.used == 0


def test_an_image_that_fits_the_budget_is_decoded_and_gives_it_back():
    budget = DecodeBudget(64 << 20)
    png = encode(Image.new("RGB", (3000, 3000), (40, 90, 200)), "PNG")
    image = decode(png, budget=budget)
    assert image.original_size == (3000, 3000) and max(image.size) == imageio.WORK_SIDE
    assert tuple(image.rgb[-1, -1]) == (40, 90, 200)
    assert budget.used == 0
    with pytest.raises(ImageTooLarge):
        decode(png, budget=DecodeBudget(16 << 20))  # the same file, where it could never fit


def test_decodes_that_do_not_fit_together_take_turns_and_all_finish():
    png = encode(Image.new("RGB", (2600, 2600), (10, 200, 30)), "PNG")
    with Image.open(io.BytesIO(png)) as im:
        cost = imageio.decode_cost(im, *im.size)
    budget = DecodeBudget(cost + cost // 2)  # room for one at a time
    with ThreadPoolExecutor(4) as pool:
        images = list(pool.map(lambda _: decode(png, budget=budget), range(6)))
    assert all(tuple(i.rgb[0, 0]) == (10, 200, 30) for i in images)
    assert budget.used == 0


def test_a_large_transparent_png_reduced_in_strips_is_the_same_picture_on_white():
    rgba = np.zeros((2000, 3000, 4), np.uint8)  # transparent, with an opaque black top-left block
    rgba[:600, :900] = (0, 0, 0, 255)
    rgba[1500:, 2500:] = (255, 0, 0, 255)  # and a red bottom-right one: strips land in place
    image = decode(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert image.size == (1280, 853) and image.original_size == (3000, 2000)
    s = image.scale
    assert image.gray[: int(590 / s), : int(890 / s)].max() < 10  # black block, scaled
    assert image.rgb[int(1510 / s):, int(2510 / s):].mean(axis=(0, 1)).round().tolist() == [255, 0, 0]
    assert image.gray[int(700 / s): int(1400 / s), :].min() > 245  # transparent → white


def test_a_progressive_jpeg_pays_for_its_full_size_coefficients():
    big = Image.new("RGB", (6000, 6000), (120, 120, 120))
    with pytest.raises(ImageTooLarge):  # 36 MP, ~108 MB of coefficients whatever the output scale
        decode(encode(big, "JPEG", progressive=True))
    assert decode(encode(big, "JPEG")).original_size == (6000, 6000)  # baseline: decoded reduced


def test_a_phone_size_selfie_still_finds_the_face_upright(pipeline):
    face = Image.fromarray(astronaut()).resize((3024, 3024))
    phone = Image.new("RGB", (3024, 4032), (90, 90, 90))
    phone.paste(face, (0, 500))
    turned = phone.transpose(Image.Transpose.ROTATE_90)  # stored sideways, EXIF says turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    analysis = pipeline.analyze(encode(turned, "JPEG", quality=90, exif=exif.tobytes()))
    assert analysis.image_size == (3024, 4032)
    # Where the face is in the 512 px original, scaled and moved as pasted: found, upright.
    small = pipeline.analyze(selfie_jpeg()).faces[0].face.box
    box = analysis.faces[0].face.box
    k = 3024 / 512
    assert box.x == pytest.approx(small.x * k, abs=60) and box.y == pytest.approx(small.y * k + 500, abs=60)
    assert box.w == pytest.approx(small.w * k, rel=0.15)


async def test_two_bombs_at_once_get_a_reply_and_a_bystander_gets_a_song(fake, pipeline, tmp_path):
    bomb = transparent_webp(4000)
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        attackers = [fake.user(700), fake.user(701)]
        for user in attackers:
            await user.send_document(bomb, "sticker.webp", "image/webp")
        bystander = fake.user(702)
        await bystander.send_photo(selfie_jpeg(), 512, 512)
        assert "open.spotify.com" in (await bystander.reply()).text
        for user in attackers:
            assert "too large" in (await user.reply()).text
