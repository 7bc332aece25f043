"""Request bodies capped while they stream, and read within a time limit (pure ASGI).

A body announced larger than its cap (``Content-Length``) is a 413 before a byte of it is
read; a chunked body is counted as it arrives and refused at the first byte over the cap.
So a 50 MB body never sits in memory. A client that sends its headers and then trickles
the body gets a 408 once the body took longer than the time limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from gridsvc.config import Settings, get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Room for a multipart upload's boundaries and part headers around the photo itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
#: The answer ends the connection: the rest of a refused body is never read.
CLOSE = {"Connection": "close"}


def body_cap(content_type: str, settings: Settings) -> tuple[int, str]:
    """Return the largest body of this media type, and what that cap is called."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return settings.max_json_bytes, "a JSON body (GRIDSVC_MAX_JSON_BYTES)"
    if media_type == "multipart/form-data":
        cap = settings.max_photo_bytes + MULTIPART_OVERHEAD_BYTES
        return cap, "a photo upload (GRIDSVC_MAX_PHOTO_BYTES plus the multipart framing)"
    return settings.max_body_bytes, "a request body (GRIDSVC_MAX_BODY_BYTES)"


def too_large(cap: int, what: str) -> str:
    """Return the 413's message: which cap, and how large it is."""
    return f"request body too large: {what} may have at most {cap:,} bytes"


def header(scope: Scope, name: bytes) -> str | None:
    """Return one request header's value as text, or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class BodyLimits:
    """Cap every HTTP request body by its media type and bound the time to receive it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an announced oversize body at once, else count the body as it streams."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        cap, what = body_cap(header(scope, b"content-type") or "", settings)
        length = header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > cap:
            refusal = JSONResponse({"detail": too_large(cap, what)}, 413, headers=CLOSE)
            await refusal(scope, receive, send)
            return
        counted = CountedBody(receive, cap, what, settings.body_timeout_s)
        await self.app(scope, counted.receive, send)


class CountedBody:
    """A request's ``receive`` that counts body bytes and times the whole body."""

    def __init__(self, receive: Receive, cap: int, what: str, timeout_s: float) -> None:
        self.inner = receive
        self.cap = cap
        self.what = what
        self.deadline = anyio.current_time() + timeout_s
        self.timeout_s = timeout_s
        self.received = 0
        self.done = False

    async def receive(self) -> Message:
        """Pass the next message on; raise a 413 or 408 instead when the body overruns."""
        if self.done:  # after the body: only the disconnect is left to wait for
            return await self.inner()
        message: Message | None = None
        with anyio.move_on_after(self.deadline - anyio.current_time()):
            message = await self.inner()
        if message is None:
            raise HTTPException(
                408,
                f"the request body took longer than {self.timeout_s:g} s to arrive "
                "(GRIDSVC_BODY_TIMEOUT_S)",
                headers=CLOSE,
            )
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.cap:
                raise HTTPException(413, too_large(self.cap, self.what), headers=CLOSE)
            self.done = not message.get("more_body", False)
        return message
