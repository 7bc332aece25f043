"""Photos of issues: JPEG, PNG, WebP or HEIC by content, re-encoded without EXIF (GPS, phone).

Pure: bytes in, cleaned bytes out. The image is decoded and written anew, so nothing but
the pixels survives; the EXIF orientation is applied first so the photo stays upright.
HEIC (an iPhone's default, read through pillow-heif) is kept as JPEG: browsers cannot
show HEIC.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

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


def clean_photo(data: bytes, max_bytes: int) -> CleanPhoto:
    """Check that ``data`` is an accepted image of at most ``max_bytes`` and strip its metadata.

    Raises
    ------
    PhotoRefused
        413 if too large, 415 if not JPEG, PNG, WebP or HEIC (whatever its name or declared type says).
    """
    if len(data) > max_bytes:
        raise PhotoRefused(f"a photo may have at most {max_bytes:,} bytes", 413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = image.format
            if kind not in FORMATS:
                raise PhotoRefused(f"photos must be {ACCEPTED}, this is {kind or 'unknown'}")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise PhotoRefused(f"not a readable {ACCEPTED} image: {error}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("the image has too many pixels", 413) from None
    upright = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    kept, media_type, extension = FORMATS[kind]
    if kept == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    elif kept == "WEBP":
        upright.save(out, "WEBP", quality=JPEG_QUALITY)
    else:
        upright.save(out, "PNG", optimize=False)
    return CleanPhoto(out.getvalue(), media_type, extension, upright.width, upright.height)
