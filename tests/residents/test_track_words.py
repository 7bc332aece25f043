"""The tracking page names every step of the workflow in Chinese and English."""

from __future__ import annotations

import re
from pathlib import Path

from gridsvc.issues.workflow import Action, Status

STATIC = Path(__file__).resolve().parents[2] / "gridsvc" / "residents" / "static"


def table(source: str, name: str) -> set[str]:
    """Keys of the ``const NAME = {...}`` table of the page's script."""
    body = re.search(rf"const {name} = \{{(.*?)\n  \}};", source, re.S)
    assert body, f"no {name} table in track.js"
    return set(re.findall(r"^\s+(\w+): \[", body.group(1), re.M))


def test_every_action_and_status_has_words_on_the_tracking_page() -> None:
    source = (STATIC / "track.js").read_text(encoding="utf-8")
    publication_steps = {"publish", "unpublish"}  # events of the publication, not the workflow
    assert {action.value for action in Action} <= table(source, "STEPS") - publication_steps
    assert {status.value for status in Status} <= table(source, "STATUS")
