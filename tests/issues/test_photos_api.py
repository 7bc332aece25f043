from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ANONYMOUS, Principal
from gridsvc.config import get_settings
from gridsvc.issues import service
from gridsvc.issues.models import IssuePhoto
from gridsvc.issues.photos import service as photos_service
from tests.issues.test_deadlines_service import submission
from tests.issues.test_workflow_api import WORKER_A, submit

SYSTEM_ADMIN = Principal(role=Role.ADMIN, subject="admin")


@pytest.fixture(autouse=True)
def photos_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "photos_dir", tmp_path)
    return tmp_path


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (39.0, 49.0, 1.0)}  # GPS IFD: latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photo_stored_without_exif(client, city, photos_dir) -> None:
    issue = submit(client)
    data = jpeg_with_gps()
    assert b"PhoneMaker" in data
    response = client.post(
        f"/api/v1/issues/{issue['id']}/photos",
        files={"photo": ("x.bin", data, "application/octet-stream")},
        headers={"X-Reporter-Secret": issue["secret"]},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["media_type"] == "image/jpeg" and (body["width"], body["height"]) == (40, 30)
    stored = list(photos_dir.rglob("*.jpg"))
    assert len(stored) == 1
    content = stored[0].read_bytes()
    assert b"PhoneMaker" not in content
    assert not Image.open(io.BytesIO(content)).getexif()


def test_png_by_staff_and_refusals(client, city) -> None:
    issue = submit(client)
    out = io.BytesIO()
    Image.new("RGBA", (5, 5)).save(out, "PNG")
    url = f"/api/v1/issues/{issue['id']}/photos"
    ok = client.post(url, files={"photo": ("a.jpg", out.getvalue())}, headers=WORKER_A)
    assert ok.status_code == 201 and ok.json()["media_type"] == "image/png"
    gif = io.BytesIO()
    Image.new("RGB", (5, 5)).save(gif, "GIF")
    refused = client.post(url, files={"photo": ("a.png", gif.getvalue())}, headers=WORKER_A)
    assert refused.status_code == 415 and "GIF" in refused.json()["detail"]
    text = client.post(url, files={"photo": ("a.png", b"hello")}, headers=WORKER_A)
    assert text.status_code == 415
    big = client.post(
        url, files={"photo": ("a.jpg", b"\xff" * (10 * 1024 * 1024 + 1))}, headers=WORKER_A
    )
    assert big.status_code == 413
    anonymous = client.post(url, files={"photo": ("a.png", out.getvalue())})
    assert anonymous.status_code == 404


def test_photos_listed_and_served_in_scope(client, city) -> None:
    issue = submit(client)
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (0, 90, 0)).save(out, "PNG")
    url = f"/api/v1/issues/{issue['id']}/photos"
    photo = client.post(url, files={"photo": ("p.png", out.getvalue())}, headers=WORKER_A).json()
    listed = client.get(url, headers=WORKER_A).json()
    assert [p["id"] for p in listed] == [photo["id"]]
    image = client.get(f"{url}/{photo['id']}", headers={"X-Reporter-Secret": issue["secret"]})
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (8, 6)
    assert client.get(url).status_code == 404  # anonymous without the secret
    public_id_as_secret = client.get(url, headers={"X-Reporter-Secret": issue["public_id"]})
    assert public_id_as_secret.status_code == 404
    assert client.get(f"{url}/999999", headers=WORKER_A).status_code == 404


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 0, 200)).save(out, "PNG")
    return out.getvalue()


def test_failing_request_leaves_no_file(client, city, photos_dir, monkeypatch) -> None:
    issue = submit(client)

    def fail(row):
        raise RuntimeError("the request fails after the photo was stored")

    monkeypatch.setattr(photos_service, "photo_body", fail)
    with pytest.raises(RuntimeError):
        client.post(
            f"/api/v1/issues/{issue['id']}/photos",
            files={"photo": ("p.png", png_bytes())},
            headers=WORKER_A,
        )
    assert [p for p in photos_dir.rglob("*") if p.is_file()] == []


def test_rollback_keeps_committed_files(db_session, city, photos_dir) -> None:
    issue_id = service.submit(db_session, submission(), ANONYMOUS)["id"]
    db_session.commit()
    kept = photos_service.add_photo(db_session, SYSTEM_ADMIN, issue_id, png_bytes())
    db_session.commit()
    photos_service.add_photo(db_session, SYSTEM_ADMIN, issue_id, png_bytes())  # same image
    assert len(list(photos_dir.rglob("*.png"))) == 2
    db_session.rollback()
    (left,) = photos_dir.rglob("*.png")
    row = db_session.get(IssuePhoto, kept["id"])
    assert left == photos_dir / row.path  # the committed row still has its file
    assert not list(photos_dir.rglob("*.part"))


def test_inner_savepoint_rollback_keeps_outer_files(db_session, city, photos_dir) -> None:
    issue_id = service.submit(db_session, submission(), ANONYMOUS)["id"]
    photos_service.add_photo(db_session, SYSTEM_ADMIN, issue_id, png_bytes())
    with db_session.begin_nested() as inner:
        inner.rollback()
    assert len(list(photos_dir.rglob("*.png"))) == 1
    db_session.commit()
    assert len(list(photos_dir.rglob("*.png"))) == 1


def test_closing_without_commit_removes_the_file(engine, photos_dir) -> None:
    with Session(engine) as session:  # far from every grid: unrouted, nothing to commit
        issue_id = service.submit(session, submission(), ANONYMOUS)["id"]
        photos_service.add_photo(session, SYSTEM_ADMIN, issue_id, png_bytes())
        assert len(list(photos_dir.rglob("*.png"))) == 1
    assert list(photos_dir.rglob("*.png")) == []


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def test_too_many_pixels_refused_from_the_header(client, city, photos_dir) -> None:
    issue = submit(client)
    flat = encoded(Image.new("L", (11_000, 8_000), 128), "PNG")  # 88 megapixels
    assert len(flat) < 200_000
    response = client.post(
        f"/api/v1/issues/{issue['id']}/photos",
        files={"photo": ("big.png", flat)},
        headers=WORKER_A,
    )
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "11000 x 8000" in detail and "40,000,000" in detail, detail
    assert "GRIDSVC_MAX_PHOTO_PIXELS" in detail
    assert list(photos_dir.rglob("*.png")) == []
    assert Image.MAX_IMAGE_PIXELS == get_settings().max_photo_pixels


def test_large_photo_stored_scaled_down_without_exif(client, city, photos_dir) -> None:
    issue = submit(client)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    photo = encoded(Image.new("RGB", (6000, 4000), (30, 120, 200)), "JPEG", exif=exif)
    response = client.post(
        f"/api/v1/issues/{issue['id']}/photos",
        files={"photo": ("camera.jpg", photo)},
        headers=WORKER_A,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (4096, 2731)
    (stored,) = photos_dir.rglob("*.jpg")
    image = Image.open(stored)
    assert image.size == (4096, 2731)
    assert not image.getexif() and b"PhoneMaker" not in stored.read_bytes()


def test_refusal_names_no_python_repr(client, city) -> None:
    issue = submit(client)
    url = f"/api/v1/issues/{issue['id']}/photos"
    for content in (
        b"hello",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        encoded(Image.new("RGB", (9, 9)), "JPEG")[:80],
    ):
        response = client.post(url, files={"photo": ("x.jpg", content)}, headers=WORKER_A)
        assert response.status_code == 415, response.text
        detail = response.json()["detail"]
        assert detail.startswith("photo: not a JPEG, PNG, WebP or HEIC image"), detail
        assert "<" not in detail and "0x" not in detail
