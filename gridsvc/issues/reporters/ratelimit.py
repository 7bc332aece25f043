"""Anonymous reports are rate-limited per client address and per device (``X-Device-Id``).

Callers with a token (staff, registered reporters) are not limited. The counters live in
PostgreSQL (:mod:`gridsvc.common.ratelimit`), so every worker shares them. Every attempt
counts, whether the report is then stored or refused: a flood of bad reports costs as much
as a flood of good ones, and an honest phone's retries stay well inside the limits.
Addresses and device ids are stored only as hashes; IPv6 addresses count per /64 network,
which is what one household or phone is given.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.exceptions import HTTPException

from gridsvc.auth.dependencies import PrincipalDep
from gridsvc.common import ratelimit
from gridsvc.common.openapi import answers
from gridsvc.config import get_settings
from gridsvc.db import SessionDep

DeviceIdHeader = Annotated[
    str | None,
    Header(
        alias="X-Device-Id",
        max_length=200,
        description="A random id the page or app keeps per phone: anonymous reports are "
        "limited per device, and idempotency keys are scoped to it.",
    ),
]


def address_of(request: Request) -> str:
    """Return the client's address as counted: IPv4 as is, IPv6 by its /64 network."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def bucket(kind: str, value: str) -> str:
    """Return a counter's bucket: what is counted, and a hash of whom."""
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


@answers(429)
def submission_rate_limit(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    device_id: DeviceIdHeader = None,
) -> None:
    """Count an anonymous report; 429 with ``Retry-After`` when a limit is reached."""
    if not principal.anonymous:
        return
    settings = get_settings()
    limits = {
        bucket("address", address_of(request)): (
            ratelimit.parse_rate(settings.rate_limit_per_address),
            "this address",
            "GRIDSVC_RATE_LIMIT_PER_ADDRESS",
        )
    }
    if device_id:
        limits[bucket("device", device_id)] = (
            ratelimit.parse_rate(settings.rate_limit_per_device),
            "this device",
            "GRIDSVC_RATE_LIMIT_PER_DEVICE",
        )
    counts = ratelimit.hit(session, {key: rate for key, (rate, _, _) in limits.items()})
    exceeded = [count for count in counts if count.exceeded]
    if exceeded:
        worst = max(exceeded, key=lambda count: count.retry_after_s)
        _, whom, setting = limits[worst.bucket]
        raise HTTPException(
            429,
            f"too many reports from {whom}: at most {worst.rate} without a token ({setting}); "
            f"try again in {worst.retry_after_s} s",
            headers={"Retry-After": str(worst.retry_after_s)},
        )


SubmissionRateLimit = Annotated[None, Depends(submission_rate_limit)]
