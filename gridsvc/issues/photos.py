"""Photos of issues: JPEG or PNG by content, re-encoded without EXIF (GPS, phone model).

Pure: bytes in, cleaned bytes out. A photo with too many pixels is refused from its
header, before it is decoded (a flat 88-megapixel PNG is only 86 KB). The rest is decoded,
scaled down to the longest side allowed and written anew, so nothing but the pixels
survives; the EXIF orientation is applied first so the photo stays upright.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from gridsvc.common.errors import GridsvcError

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
JPEG_QUALITY = 90
NOT_AN_IMAGE = "photo: not a JPEG or PNG image"


class PhotoRefused(GridsvcError):
    """The upload is not a JPEG or PNG (415) or is too large (413)."""

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
    """Check that ``data`` is a JPEG or PNG within the limits, strip its metadata, scale it down.

    The pixel count is read from the header, before anything is decoded; a photo with a
    side longer than ``max_side_px`` is stored scaled down to that size.

    Raises
    ------
    PhotoRefused
        413 if too many bytes or pixels, 415 if not a JPEG or PNG (whatever its name or
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
    try:
        # thumbnail() decodes a large JPEG at a reduced scale and keeps the aspect ratio.
        image.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError):
        raise PhotoRefused(f"{NOT_AN_IMAGE} (damaged or truncated)") from None
    out = io.BytesIO()
    if image.format == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        upright.save(out, "PNG", optimize=False)
    media_type, extension = FORMATS[image.format]
    return CleanPhoto(out.getvalue(), media_type, extension, upright.width, upright.height)


def read_header(data: bytes) -> ImageFile.ImageFile:
    """Open a JPEG or PNG lazily: its size and format are known, no pixel is decoded yet.

    The format's own reader is used rather than ``Image.open``, which refuses a large image
    before its size can be named in the answer; the size is checked by the caller.
    """
    Image.preinit()  # registers the JPEG and PNG readers
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
