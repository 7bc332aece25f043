"""Photos of issues: JPEG or PNG by content, re-encoded without EXIF (GPS, phone model).

Pure: bytes in, cleaned bytes out. The image is decoded and written anew, so nothing but
the pixels survives; the EXIF orientation is applied first so the photo stays upright.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from gridsvc.common.errors import GridsvcError

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
JPEG_QUALITY = 90


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


def clean_photo(data: bytes, max_bytes: int) -> CleanPhoto:
    """Check that ``data`` is a JPEG or PNG of at most ``max_bytes`` and strip its metadata.

    Raises
    ------
    PhotoRefused
        413 if too large, 415 if not a JPEG or PNG (whatever its name or declared type says).
    """
    if len(data) > max_bytes:
        raise PhotoRefused(f"a photo may have at most {max_bytes:,} bytes", 413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = image.format
            if kind not in FORMATS:
                raise PhotoRefused(f"photos must be JPEG or PNG, this is {kind or 'unknown'}")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise PhotoRefused(f"not a readable JPEG or PNG image: {error}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("the image has too many pixels", 413) from None
    upright = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    if kind == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        upright.save(out, "PNG", optimize=False)
    media_type, extension = FORMATS[kind]
    return CleanPhoto(out.getvalue(), media_type, extension, upright.width, upright.height)
