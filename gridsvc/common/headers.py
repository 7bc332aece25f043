"""Security headers on every response, and ``Cache-Control: no-store`` on staff answers.

The Content-Security-Policy depends on what the response is:

- HTML (the folium maps under ``/maps``, ``/docs``): folium writes each map as inline
  ``<script>`` and ``<style>`` blocks with generated ids, and Swagger UI starts from an
  inline script, so scripts and styles may be inline, but only from this origin otherwise;
  images may also come from ``data:``/``blob:`` and the configured base-map tile server; no
  plugins, no foreign forms, framed only by this origin (the maps index may frame maps).
- Everything else (JSON, GeoJSON, CSV, GeoPackage, static assets): nothing at all may load
  (``default-src 'none'``) and nobody may frame it, so a response opened as a document by
  mistake or by an attacker can run nothing.

A response that sets its own policy keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Paths whose every answer is about cases or people: never cached, token or not.
STAFF_PATHS = ("/api/v1/issues", "/api/v1/stats", "/api/v1/track")
#: The cookie a browser keeps its token in, once a page was opened with ``?token=``.
TOKEN_COOKIE = "gridsvc_token"
#: Query parameters that carry a credential.
CREDENTIAL_PARAMETERS = frozenset({"token", "api_key", "secret"})

DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def html_policy(image_sources: Iterable[str] = ()) -> str:
    """Return the CSP of the HTML pages; images may also come from ``image_sources``."""
    images = " ".join(["'self'", "data:", "blob:", *image_sources])
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


def carries_credentials(scope: Scope) -> bool:
    """Whether the request sends a bearer token, the maps' token cookie or a credential."""
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return True
        if name == b"cookie" and TOKEN_COOKIE in cookie_parser(value.decode("latin-1")):
            return True
    query = scope.get("query_string", b"").decode("latin-1")
    return any(key in CREDENTIAL_PARAMETERS for key, _ in parse_qsl(query))


def is_staff_answer(scope: Scope) -> bool:
    """Whether the answer is for staff (or a reporter) and must not be stored anywhere."""
    path = scope.get("path", "")
    return path.startswith(STAFF_PATHS) or carries_credentials(scope)


class SecurityHeaders:
    """Pure ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, image_sources: Iterable[str] = ()) -> None:
        self.app = app
        self.html_policy = html_policy(image_sources)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = is_staff_answer(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.add_headers(MutableHeaders(scope=message), no_store)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def add_headers(self, headers: MutableHeaders, no_store: bool) -> None:
        """Set the headers on one response (a policy the response chose stays)."""
        html = headers.get("content-type", "").startswith("text/html")
        headers.setdefault("Content-Security-Policy", self.html_policy if html else DATA_POLICY)
        headers.setdefault("X-Frame-Options", "SAMEORIGIN" if html else "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if no_store:
            headers["Cache-Control"] = "no-store"
