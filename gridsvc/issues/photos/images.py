"""Photos of issues: JPEG, PNG, WebP or HEIC by content, re-encoded without EXIF (GPS, phone).

Pure: bytes in, cleaned bytes out. A photo with too many pixels is refused from its
header, before it is decoded (a flat 88-megapixel PNG is only 86 KB). The rest is decoded,
scaled down to the longest side allowed and written anew, so nothing but the pixels
survives; the EXIF orientation is applied first so the photo stays upright. HEIC (an
iPhone's default, read through pillow-heif) is kept as JPEG: browsers cannot show HEIC.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from gridsvc.common.errors import GridsvcError

pillow_heif.register_heif_opener()

#: Format read -> (format kept, media type, extension).
FORMATS = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}
ACCEPTED = "JPEG, PNG, WebP or HEIC"
JPEG_QUALITY = 90
NOT_AN_IMAGE = f"photo: not a {ACCEPTED} image"


class PhotoRefused(GridsvcError):
    """The upload is not an accepted image (415) or is too large (413)."""

    def __init__(self, message: str, status_code: int = 415) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store."""

    content: bytes
    media_type: str
    extension: str
    width: int
    height: int


def clean_photo(data: bytes, max_bytes: int, max_pixels: int, max_side_px: int) -> CleanPhoto:
    """Check that ``data`` is an accepted image within the limits; strip metadata, scale down.

    The pixel count is read from the header, before anything is decoded; a photo with a
    side longer than ``max_side_px`` is stored scaled down to that size.

    Raises
    ------
    PhotoRefused
        413 if too many bytes or pixels, 415 if not an accepted image (whatever its name or
        declared type says).
    """
    if len(data) > max_bytes:
        raise PhotoRefused(f"photo: at most {max_bytes:,} bytes, this one has {len(data):,}", 413)
    # Pillow's own guard, for every image opened anywhere, agrees with the setting.
    Image.MAX_IMAGE_PIXELS = max_pixels
    image = read_header(data)
    width, height = image.size
    if width * height > max_pixels:
        raise PhotoRefused(
            f"photo: {width} x {height} = {width * height:,} pixels, more than the "
            f"{max_pixels:,} allowed (GRIDSVC_MAX_PHOTO_PIXELS)",
            413,
        )
    kept, media_type, extension = FORMATS[image.format]
    try:
        # thumbnail() decodes a large JPEG at a reduced scale and keeps the aspect ratio.
        image.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError):
        raise PhotoRefused(f"{NOT_AN_IMAGE} (damaged or truncated)") from None
    out = io.BytesIO()
    if kept == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    elif kept == "WEBP":
        upright.save(out, "WEBP", quality=JPEG_QUALITY)
    else:
        upright.save(out, "PNG", optimize=False)
    return CleanPhoto(out.getvalue(), media_type, extension, upright.width, upright.height)


def read_header(data: bytes) -> ImageFile.ImageFile:
    """Open an accepted image lazily: its size and format are known, no pixel is decoded yet.

    The format's own reader is used rather than ``Image.open``, which refuses a large image
    before its size can be named in the answer; the size is checked by the caller.
    """
    Image.init()  # registers every reader (WebP's too; pillow-heif registered HEIF)
    for kind in FORMATS:
        factory, accept = Image.OPEN[kind]
        if accept is None or accept(data[:16]) is True:
            try:
                return factory(io.BytesIO(data), "")
            except (OSError, SyntaxError, ValueError, IndexError, struct.error):
                break
    try:
        kind = Image.open(io.BytesIO(data)).format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        kind = None
    if kind and kind not in FORMATS:
        raise PhotoRefused(f"{NOT_AN_IMAGE}: this is {kind}")
    raise PhotoRefused(NOT_AN_IMAGE)
