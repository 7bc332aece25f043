"""WebP and HEIC photos (an iPhone's default) are taken, cleaned of EXIF; HEIC is kept as JPEG."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image

from gridsvc.config import get_settings
from tests.issues.test_workflow_api import submit

pillow_heif.register_heif_opener()


@pytest.fixture(autouse=True)
def photos_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "photos_dir", tmp_path)
    return tmp_path


def encoded(kind: str, size: tuple[int, int], orientation: int | None = None) -> bytes:
    """A red-left, blue-right image in ``kind`` with a maker tag and GPS in its EXIF."""
    image = Image.new("RGB", size, (200, 10, 10))
    image.paste((10, 10, 200), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {2: (39.0, 49.0, 1.0)}
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, kind, exif=exif.tobytes(), quality=90)
    return out.getvalue()


def upload(client, issue: dict, data: bytes):
    return client.post(
        f"/api/v1/issues/{issue['id']}/photos",
        files={"photo": ("photo.bin", data, "application/octet-stream")},
        headers={"X-Reporter-Secret": issue["secret"]},
    )


def test_webp_kept_as_webp_without_exif(client, city, photos_dir) -> None:
    issue = submit(client)
    data = encoded("WEBP", (40, 30))
    assert b"PhoneMaker" in data
    response = upload(client, issue, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["media_type"] == "image/webp" and (body["width"], body["height"]) == (40, 30)
    (stored,) = photos_dir.rglob("*.webp")
    content = stored.read_bytes()
    assert b"PhoneMaker" not in content
    assert not Image.open(io.BytesIO(content)).getexif()


def test_heic_kept_as_upright_jpeg_without_exif(client, city, photos_dir) -> None:
    issue = submit(client)
    data = encoded("HEIF", (64, 32), orientation=6)  # the phone was held upright: turn 90°
    assert Image.open(io.BytesIO(data)).format == "HEIF"
    response = upload(client, issue, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["media_type"] == "image/jpeg"
    (stored,) = photos_dir.rglob("*.jpg")
    image = Image.open(io.BytesIO(stored.read_bytes()))
    assert b"PhoneMaker" not in stored.read_bytes() and not image.getexif()
    assert image.format == "JPEG" and (body["width"], body["height"]) == image.size
    # pillow-heif applies the orientation on reading or the cleaner does: upright either way.
    assert image.size == (32, 64)
