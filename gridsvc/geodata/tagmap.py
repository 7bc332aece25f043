"""The OSM tag → facility type mapping, read from a data file a user can edit.

The file is ``gridsvc/geodata/osm_tags.json`` (or the one ``GRIDSVC_OSM_TAGS_FILE``
names). It declares the facility types it uses, so an OSM import works on a database
without the demo's types, the walking highways, and the rules in order: the first rule
one of whose tags a feature carries gives its type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridsvc.common.errors import GridsvcError
from gridsvc.config import get_settings

DEFAULT_TAGS_FILE = Path(__file__).with_name("osm_tags.json")
ANY_VALUE = "*"


@dataclass(frozen=True)
class TagRule:
    """Features with any of ``tags`` (key → values, or ``*`` for any value) get ``type_code``."""

    type_code: str
    tags: dict[str, tuple[str, ...] | str]

    def matches(self, tags: dict[str, Any]) -> bool:
        """Whether a feature with ``tags`` falls under this rule."""
        for key, values in self.tags.items():
            value = tags.get(key)
            if value is None or value == "" or value != value:
                continue
            if values == ANY_VALUE or str(value) in values:
                return True
        return False


@dataclass(frozen=True)
class TagMap:
    """Everything the OSM import takes from the mapping file."""

    facility_types: dict[str, dict[str, str]]
    walking_highways: tuple[str, ...]
    rules: tuple[TagRule, ...]

    def type_of(self, tags: dict[str, Any]) -> str | None:
        """Return the facility type of a feature with ``tags``, or None if no rule matches."""
        return next((rule.type_code for rule in self.rules if rule.matches(tags)), None)

    def tag_filter(self) -> dict[str, list[str] | bool]:
        """Every key and value the rules look at, as pyrosm's ``custom_filter`` wants them."""
        wanted: dict[str, set[str] | bool] = {}
        for rule in self.rules:
            for key, values in rule.tags.items():
                if values == ANY_VALUE or wanted.get(key) is True:
                    wanted[key] = True
                else:
                    wanted.setdefault(key, set()).update(values)  # type: ignore[union-attr]
        return {k: v if v is True else sorted(v) for k, v in wanted.items()}  # type: ignore[arg-type]


def parse_tag_map(document: dict[str, Any], origin: str = "mapping") -> TagMap:
    """Build a :class:`TagMap` from the JSON document; the error says what is wrong where."""
    try:
        types = {
            code: {key: str(entry[key]) for key in ("name", "name_en", "level")}
            for code, entry in document["facility_types"].items()
        }
        rules = tuple(
            TagRule(
                str(rule["type_code"]),
                {
                    key: ANY_VALUE if values == ANY_VALUE else tuple(str(v) for v in values)
                    for key, values in rule["tags"].items()
                },
            )
            for rule in document["rules"]
        )
        highways = tuple(str(h) for h in document["walking_highways"])
    except (KeyError, TypeError, AttributeError) as error:
        raise GridsvcError(f"{origin}: malformed OSM tag mapping ({error!r})") from None
    undeclared = sorted({rule.type_code for rule in rules} - set(types))
    if undeclared:
        raise GridsvcError(
            f"{origin}: rules use facility types not declared under facility_types: "
            f"{', '.join(undeclared)}"
        )
    return TagMap(types, highways, rules)


def load_tag_map(path: Path | None = None) -> TagMap:
    """Read the mapping file: ``path``, else the setting ``osm_tags_file``, else the default."""
    path = path or get_settings().osm_tags_file or DEFAULT_TAGS_FILE
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise GridsvcError(f"cannot read the OSM tag mapping {path}: {error}") from None
    return parse_tag_map(document, str(path))
