"""Serve bench/bare_app.py under the uvicorn settings of the gridsvc tree on PYTHONPATH.

A tree with gridsvc.common.serving gives its own options (what ``gridsvc serve`` passes to
uvicorn); an older tree gets what its ``gridsvc serve`` passed then. ``--workers`` is the
number of workers the gridsvc server under test runs.

Run: python bench/bare_serve.py --port PORT --workers N
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn

BENCH = Path(__file__).resolve().parent


def options() -> dict[str, Any]:
    from gridsvc.config import get_settings

    settings = get_settings()
    try:
        from gridsvc.common import serving
    except ImportError:  # a tree from before gridsvc.common.serving
        from gridsvc.common.access_log import log_config

        return {
            "log_level": "info",
            "log_config": log_config(),
            "server_header": False,
            "timeout_keep_alive": settings.keepalive_timeout_s,
        }
    found = serving.uvicorn_options(settings)
    found.pop("workers", None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    arguments = parser.parse_args()
    uvicorn.run(
        "bare_app:app",
        host="127.0.0.1",
        port=arguments.port,
        workers=arguments.workers,
        app_dir=str(BENCH),
        **options(),
    )


if __name__ == "__main__":
    main()
