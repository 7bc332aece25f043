"""Request bodies are capped while they stream and must arrive in time, on a real server."""

from __future__ import annotations

import http.client
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gridsvc.common.limits import MULTIPART_OVERHEAD_BYTES
from gridsvc.config import get_settings
from tests.maps.conftest import free_port, wait_until_up

MIB = 2**20
BIG = 50 * 1024 * 1024
BODY_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[tuple[int, int]]:
    """A uvicorn subprocess over the test database: (port, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "GRIDSVC_DATABASE_URL": database_url,
        "GRIDSVC_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gridsvc.main:app", "--host", "127.0.0.1"]
        + ["--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def answer(sock: socket.socket) -> tuple[int, str, dict[str, str]]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read().decode(), dict(response.getheaders())


def post(port: int, size: int, chunked: bool, send_body: bool = True) -> tuple[int, str, int]:
    """POST a JSON body of ``size`` bytes, stopping as soon as the server answers.

    Returns the status, the body and how many body bytes were sent before the answer.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = "POST /api/v1/issues HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    sock.sendall(f"{head}{framing}\r\n\r\n".encode())
    piece, sent = b'{"description": "' + b"a" * (64 * 1024 - 17), 0
    while send_body and sent < size and not select.select([sock], [], [], 0)[0]:
        part = piece[: size - sent]
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(part)
        piece = b"a" * len(piece)
    if chunked and sent == size:
        sock.sendall(b"0\r\n\r\n")
    with sock:
        status, text, _ = answer(sock)
    return status, text, sent


def test_announced_oversize_body_is_refused_before_it_is_sent(server) -> None:
    port, _ = server
    status, text, sent = post(port, BIG, chunked=False, send_body=False)
    assert sent == 0
    assert status == 413
    assert f"at most {get_settings().max_json_bytes:,} bytes" in text
    assert "GRIDSVC_MAX_JSON_BYTES" in text


def test_chunked_oversize_body_is_refused_while_it_streams(server) -> None:
    port, _ = server
    status, text, sent = post(port, BIG, chunked=True)
    assert status == 413 and "JSON body" in text
    assert sent < BIG  # the answer came before the client finished


def test_six_concurrent_50_mb_bodies_do_not_grow_the_server(server) -> None:
    port, pid = server
    before = peak_rss_mib(pid)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda chunked: post(port, BIG, chunked), [True, False] * 3))
    after = peak_rss_mib(pid)
    # A correctness bound, not a timing one: unbounded, this grows by hundreds of MiB.
    assert after - before < 50, f"peak RSS grew from {before:.0f} to {after:.0f} MiB"
    assert [status for status, _, _ in results] == [413] * 6


def test_a_trickling_body_times_out(server) -> None:
    port, _ = server
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "POST /api/v1/issues HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    sock.sendall(f"{head}Content-Length: 200\r\n\r\n{{".encode())
    started = time.monotonic()
    while not select.select([sock], [], [], 0.25)[0] and time.monotonic() - started < 60:
        sock.sendall(b" ")  # 4 bytes a second: the whole body would take 50 s
    with sock:
        status, text, headers = answer(sock)
    assert status == 408
    assert f"{BODY_TIMEOUT_S} s" in text and "GRIDSVC_BODY_TIMEOUT_S" in text
    assert headers.get("connection") == "close"


@pytest.mark.parametrize(
    ("content_type", "cap", "setting"),
    [
        ("application/json", lambda s: s.max_json_bytes, "GRIDSVC_MAX_JSON_BYTES"),
        (
            "multipart/form-data; boundary=x",
            lambda s: s.max_photo_bytes + MULTIPART_OVERHEAD_BYTES,
            "GRIDSVC_MAX_PHOTO_BYTES",
        ),
        ("application/x-www-form-urlencoded", lambda s: s.max_body_bytes, "GRIDSVC_MAX_BODY_BYTES"),
    ],
)
def test_each_kind_of_body_has_its_cap(client, content_type, cap, setting) -> None:
    limit = cap(get_settings())
    body = b"a" * (limit + 1)
    url = "/open311/v2/requests.json"
    response = client.post(url, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 413
    assert f"at most {limit:,} bytes" in response.json()["detail"] and setting in response.text
