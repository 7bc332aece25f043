"""The maps' index page: a plain list of links, from the served maps or the written files.

Pure: no database, no web framework, no assets.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MapLink:
    """A map the index page lists."""

    title: str
    href: str


def index_html(links: list[MapLink], title: str = "gridsvc maps") -> str:
    """Return a plain page listing ``links`` (no assets at all)."""
    items = "\n".join(
        f'<li><a href="{html.escape(link.href)}">{html.escape(link.title)}</a></li>'
        for link in links
    )
    return (
        f'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font:15px/1.6 sans-serif;margin:2em}</style></head>"
        f"<body><h1>{title}</h1><ul>\n{items}\n</ul></body></html>\n"
    )


def page_title(path: Path) -> str:
    """Return the ``<title>`` of a written map, or its file name."""
    match = re.search(r"<title>(.*?)</title>", path.read_text(encoding="utf-8")[:20000])
    return html.unescape(match.group(1)) if match else path.stem


def written_maps(folder: Path) -> list[MapLink]:
    """Every map written in ``folder``, for its index page, city first."""
    pages = sorted(path for path in folder.glob("*.html") if path.name != "index.html")
    pages.sort(
        key=lambda path: (not path.name.startswith("grids"), path.name != "grids.html", path.name)
    )
    return [MapLink(page_title(path), path.name) for path in pages]
