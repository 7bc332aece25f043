"""constraints.txt pins every dependency pyproject.toml declares, within its bounds."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pairs}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [dep for group in project["optional-dependencies"].values() for dep in group]
    return [Requirement(dep) for dep in project["dependencies"] + extras]


def test_every_declared_dependency_is_pinned_inside_its_bounds() -> None:
    pinned = pins()
    outside = [
        f"{dep}: {pinned.get(canonicalize_name(dep.name), 'not pinned')}"
        for dep in declared()
        if canonicalize_name(dep.name) not in pinned
        or not dep.specifier.contains(pinned[canonicalize_name(dep.name)], prereleases=True)
    ]
    assert outside == []


def test_pins_are_exact_versions_without_the_project_itself() -> None:
    pinned = pins()
    assert "gridsvc" not in pinned
    assert all(version and "@" not in version for version in pinned.values())
