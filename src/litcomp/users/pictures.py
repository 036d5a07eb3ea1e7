"""Profile pictures: an uploaded image decoded, checked and re-encoded small.

Whatever was uploaded, only pixels come out: the image is decoded (its real type, not
the one the request claims, must be JPEG, PNG or WebP), turned upright by its EXIF
orientation, cropped to a centred square and encoded anew as WebP in two sizes,
with no metadata (no EXIF, GPS, ICC profile or comments; an animation keeps its first
frame). A file that is also something else (a polyglot) is therefore harmless once
stored. A small file can declare a huge image (a "decompression bomb": a 20000 x 20000
PNG of one colour compresses to a few kilobytes), so the size in the header is
checked before any pixel is decoded.

Decoding takes CPU time and memory: ``prepare`` runs in a small pool of threads of
its own (``prepare_off_loop``), so the event loop never waits on it and at most
``DECODERS`` images are in memory at once, each at most ``MAX_PIXELS``.
"""

import asyncio
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum

from PIL import Image, ImageOps

from litcomp.kit.errors import Invalid

CONTENT_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


class Size(IntEnum):
    """The squares a picture is kept in, by side in pixels."""

    LARGE = 256
    SMALL = 64


SERVED_TYPE = "image/webp"
# 16 megapixels: a 12 MP phone photo fits; decoded as RGBA it takes 64 MB at most.
MAX_PIXELS = 16_000_000
DECODERS = 2
_QUALITY = 85

_pool = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="picture")


@dataclass(frozen=True)
class Prepared:
    """The picture as stored: ``images`` by ``Size``, and a version naming it."""

    images: dict[Size, bytes]
    version: str


async def prepare_off_loop(data: bytes) -> Prepared:
    return await asyncio.get_running_loop().run_in_executor(_pool, prepare, data)


def prepare(data: bytes) -> Prepared:
    """The uploaded ``data`` re-encoded in every size; ``Invalid`` if it is not a JPEG,
    PNG or WebP image that decodes whole, or is over ``MAX_PIXELS``."""
    image = _decoded(data)
    images = {size: _encoded(image, size) for size in Size}
    version = hashlib.sha256(images[Size.LARGE]).hexdigest()[:16]
    return Prepared(images, version)


def _decoded(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES.values()))
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError):
        raise _not_an_image() from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(f"the image is {width} x {height} pixels; ")
    if image.format == "JPEG":
        # A JPEG can be decoded at a fraction of its size at once, far cheaper.
        image.draft("RGB", (2 * Size.LARGE, 2 * Size.LARGE))
    try:
        image.load()  # every pixel, so a truncated file is refused here
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise _not_an_image() from None
    return upright.convert("RGBA" if _has_alpha(upright) else "RGB")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _encoded(image: Image.Image, size: int) -> bytes:
    square = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Only the pixels: no exif, icc_profile or xmp is passed, so none is written.
    square.save(out, format="WEBP", quality=_QUALITY, method=4)
    return out.getvalue()


def _too_many_pixels(found: str = "") -> Invalid:
    limit = MAX_PIXELS // 1_000_000
    return Invalid(f"{found}a picture has at most {limit} megapixels", code="image_too_large")


def _not_an_image() -> Invalid:
    return Invalid("the body is not a whole JPEG, PNG or WebP image", code="not_an_image")
