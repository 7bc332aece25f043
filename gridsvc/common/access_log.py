"""The API server's log configuration: uvicorn's, with credentials taken out of every line.

Bearer tokens reach the server in query strings too (``/maps/issues?token=``, Open311's
``api_key``, a reporter's ``secret``); uvicorn's access log writes the whole request line,
so the values of those parameters become ``***`` before any handler sees the record.
The access log never writes request headers (Authorization, X-Reporter-Secret).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

#: Query parameters whose values are credentials (also as suffixes: ``reporter_secret``).
SECRET_PARAMETERS = ("token", "api_key", "secret", "password")
SECRET_VALUE = re.compile(
    r"(?P<name>(?:[\w.-]*?[_-])?(?:" + "|".join(SECRET_PARAMETERS) + r"))=(?P<value>[^&#\s\"]*)",
    re.IGNORECASE,
)
REDACTED = "***"


def redact(text: str) -> str:
    """Replace the value of every credential parameter in ``text`` with ``***``."""
    return SECRET_VALUE.sub(lambda match: f"{match['name']}={REDACTED}", text)


class RedactCredentials(logging.Filter):
    """Take credentials out of a record's message and arguments (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            # uvicorn's AccessFormatter reads the arguments by position: keep their shape.
            record.args = tuple(
                redact(value) if isinstance(value, str) else value for value in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    """Return uvicorn's logging configuration with RedactCredentials on every handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_credentials": {"()": RedactCredentials}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_credentials"]
    return config
