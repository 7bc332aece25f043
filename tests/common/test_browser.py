"""The one Chromium launcher: which executable it picks, and a clear refusal without one."""

from __future__ import annotations

import sys

import pytest

from gridsvc.common.browser import chromium_path


def test_chromium_path_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDSVC_CHROMIUM", sys.executable)
    assert chromium_path() == sys.executable


def test_a_missing_chromium_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDSVC_CHROMIUM", "/nowhere/chromium")
    with pytest.raises(ValueError, match="no chromium found"):
        chromium_path()
