"""Profile pictures as uploaded: only whole JPEG, PNG or WebP images within the pixel
limit come out, re-encoded upright as squares with no metadata."""

import io
import struct
import zlib

import pytest
from PIL import Image

from litcomp.kit.errors import Invalid
from litcomp.users import pictures


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=kind, **options)
    return out.getvalue()


def halves(width: int = 200, height: int = 100) -> Image.Image:
    """Red on the left, blue on the right."""
    image = Image.new("RGB", (width, height), "red")
    image.paste(Image.new("RGB", (width // 2, height), "blue"), (width // 2, 0))
    return image


def png_bomb(side: int) -> bytes:
    """A ``side`` x ``side`` one-bit PNG of zeros: kilobytes that decode to ``side``² pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes((side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_each_kind_becomes_webp_squares_of_each_size(kind: str) -> None:
    prepared = pictures.prepare(encoded(halves(), kind))
    assert set(prepared.images) == {256, 64}  # Size.LARGE, Size.SMALL
    for size, data in prepared.images.items():
        image = opened(data)
        assert (image.format, image.size) == ("WEBP", (size, size))
    assert len(prepared.version) == 16


def test_the_version_follows_the_picture() -> None:
    first = pictures.prepare(encoded(halves(), "PNG"))
    assert pictures.prepare(encoded(halves(), "PNG")).version == first.version
    other = Image.new("RGB", (200, 100), "green")
    assert pictures.prepare(encoded(other, "PNG")).version != first.version


def test_exif_orientation_is_applied_and_every_metadata_dropped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90° clockwise: the left (red) half on top
    exif[0x010E] = "secret description"
    data = encoded(halves(), "JPEG", exif=exif, comment=b"secret comment")
    assert b"secret" in data
    prepared = pictures.prepare(data)
    for image_bytes in prepared.images.values():
        assert b"secret" not in image_bytes and b"Exif" not in image_bytes
        image = opened(image_bytes).convert("RGB")
        assert not image.getexif() and "icc_profile" not in image.info
        top, bottom = (
            image.getpixel((image.width // 2, 2)),
            image.getpixel((image.width // 2, image.height - 3)),
        )
        assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # red above blue


def test_transparency_is_kept() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    corner = opened(pictures.prepare(encoded(image, "PNG")).images[64]).convert("RGBA")
    assert corner.getpixel((0, 0))[3] == 0


def test_an_animation_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (80, 80), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], lossless=True)
    image = opened(pictures.prepare(out.getvalue()).images[64]).convert("RGB")
    assert getattr(image, "n_frames", 1) == 1
    assert image.getpixel((32, 32))[0] > 200


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        encoded(halves(), "GIF"),
        encoded(halves(), "BMP"),
        encoded(halves(), "PNG")[:300],  # truncated
        encoded(halves(), "JPEG")[:400],
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",  # a PNG signature, then HTML
    ],
    ids=["empty", "text", "gif", "bmp", "png-truncated", "jpeg-truncated", "svg", "png-html"],
)
def test_anything_but_a_whole_image_of_the_three_kinds_is_refused(data: bytes) -> None:
    with pytest.raises(Invalid) as refused:
        pictures.prepare(data)
    assert refused.value.code == "not_an_image"


def test_a_polyglot_keeps_only_its_pixels() -> None:
    data = encoded(halves(), "JPEG") + b"<html><script>alert(1)</script></html>"
    for image in pictures.prepare(data).images.values():
        assert b"script" not in image


@pytest.mark.parametrize("side", [4001, 20_000])
def test_too_many_pixels_is_refused_before_decoding(side: int) -> None:
    bomb = png_bomb(side)
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(Invalid) as refused:
        pictures.prepare(bomb)
    assert refused.value.code == "image_too_large"


def test_a_picture_at_the_pixel_limit_is_taken() -> None:
    assert pictures.prepare(png_bomb(4000)).images[64]


async def test_prepare_off_loop_answers_the_same() -> None:
    data = encoded(halves(), "PNG")
    assert (await pictures.prepare_off_loop(data)).version == pictures.prepare(data).version
