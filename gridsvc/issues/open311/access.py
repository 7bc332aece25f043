"""Who may use the Open311 endpoint: the one jurisdiction served, and POST's ``api_key``.

The spec makes ``jurisdiction_id`` optional where an endpoint serves one jurisdiction, as
this one does: it may be left out, and naming another one is the spec's 404. POST needs an
``api_key`` (the spec: "Requires API Key: Yes"). A key is either one of the keys the
command centre hands to third-party apps (``GRIDSVC_OPEN311_API_KEYS``; the app reports
as a registered reporter of its own) or a gridsvc bearer token (the token's principal
reports). A bearer token in the ``Authorization`` header stands in for a missing key.
"""

from __future__ import annotations

import hashlib
import hmac

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import InvalidTokenError, Principal, read_token, signing_secret
from gridsvc.config import get_settings
from gridsvc.issues.open311.service import Open311Error


def check_jurisdiction(jurisdiction_id: str | None) -> None:
    """Accept no jurisdiction or ours; another one is the spec's 404."""
    served = get_settings().open311_jurisdiction_id
    if jurisdiction_id and jurisdiction_id != served:
        raise Open311Error(
            f"jurisdiction_id '{jurisdiction_id}' was not found; this endpoint serves "
            f"'{served}' only",
            404,
        )


def app_keys() -> list[str]:
    """Return the configured third-party api_key values."""
    return [key.strip() for key in get_settings().open311_api_keys.split(",") if key.strip()]


def poster(api_key: str | None, principal: Principal) -> Principal:
    """Return who creates the request: the api_key's app or token, else the bearer's.

    Raises
    ------
    Open311Error
        400 without any key or token, 403 with a key that is neither configured nor a
        valid token.
    """
    if not api_key:
        if not principal.anonymous:
            return principal
        raise Open311Error("'api_key' is required to create a service request", 400)
    for key in app_keys():
        if hmac.compare_digest(key.encode(), api_key.encode()):
            app = hashlib.sha256(key.encode()).hexdigest()[:12]
            return Principal(role=Role.REPORTER, subject=f"open311-app-{app}")
    try:
        return read_token(api_key, signing_secret(get_settings()))
    except InvalidTokenError:
        raise Open311Error("the api_key is not valid", 403) from None
