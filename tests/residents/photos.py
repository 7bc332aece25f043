"""A camera-like photo: 12 MP, textured like a street scene, EXIF with the phone and GPS."""

from __future__ import annotations

import io

from PIL import Image

MAKER = "PhoneMaker"


def camera_photo(size: tuple[int, int] = (4000, 3000), quality: int = 92) -> bytes:
    """Return a JPEG of ``size`` whose noise makes it weigh what a phone photo weighs."""
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.merge("RGB", [Image.effect_noise(size, 40) for _ in range(3)])
    image = Image.blend(base, noise, 0.35)
    exif = Image.Exif()
    exif[0x010F] = MAKER
    exif[0x8825] = {2: (39.0, 49.0, 1.0), 4: (109.0, 58.0, 1.0)}  # GPS latitude, longitude
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()
