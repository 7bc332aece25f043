"""The layers a city's files bring in and take out: fields, geometry, codes and parents.

One description per layer serves the readers (which fields to look for), the validation
(what a row must hold) and the export (which columns to write), so a file exported by
gridsvc imports back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Layer:
    """What a layer's rows hold.

    Attributes
    ----------
    name
        The layer's name on the command line and in exports (``grids``).
    table
        The table its rows go to.
    geometry
        ``"polygon"`` (stored as MultiPolygon) or ``"point"``.
    text_fields
        Fields kept as text; ``code`` and ``name`` first where the layer has them.
    integer_fields
        Whole-number fields with their default when a file leaves them out (``None``:
        the field is required; a default of ``""`` keeps an empty value empty).
    code_digits
        Digits of the layer's division code, or ``None`` for layers without codes.
    parent
        The parent layer's name (``communities`` for grids), or ``None``.
    """

    name: str
    table: str
    geometry: str
    text_fields: tuple[str, ...] = ()
    integer_fields: dict[str, int | None | str] = field(default_factory=dict)
    code_digits: int | None = None
    parent: str | None = None

    @property
    def is_boundary(self) -> bool:
        """Whether rows are versioned boundaries with codes and generations."""
        return self.code_digits is not None

    @property
    def parent_field(self) -> str | None:
        """The field naming the parent's code (``community_code``), or ``None``."""
        return None if self.parent is None else f"{LAYERS[self.parent].singular}_code"

    @property
    def singular(self) -> str:
        """The layer's row in words: ``community`` for ``communities``."""
        return SINGULAR.get(self.name, self.name)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every attribute field, in export order."""
        return (*self.text_fields, *self.integer_fields)


SINGULAR = {
    "districts": "district",
    "streets": "street",
    "communities": "community",
    "grids": "grid",
    "facilities": "facility",
}

COMMUNITY_KINDS = ("urban", "rural")

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("districts", "districts", "polygon", ("code", "name"), code_digits=6),
        Layer(
            "streets",
            "streets",
            "polygon",
            ("code", "name", "district_code"),
            code_digits=9,
            parent="districts",
        ),
        Layer(
            "communities",
            "communities",
            "polygon",
            ("code", "name", "street_code", "kind"),
            code_digits=12,
            parent="streets",
        ),
        Layer(
            "grids",
            "grids",
            "polygon",
            ("code", "name", "community_code"),
            {"population": 0, "households": 0, "grid_workers": 0},
            code_digits=15,
            parent="communities",
        ),
        Layer(
            "facilities",
            "facilities",
            "point",
            ("type_code", "name", "source"),
            {"capacity": ""},
        ),
        Layer("population", "population_points", "point", (), {"persons": None}),
    )
}

#: Layers that only come out (they come in through ``gridsvc import osm``).
EXPORT_ONLY_LAYERS: dict[str, Layer] = {
    "network_nodes": Layer("network_nodes", "network_nodes", "point", (), {"node_id": None}),
    "network_edges": Layer(
        "network_edges",
        "network_edges",
        "line",
        (),
        {"source": None, "target": None, "length_m": None},
    ),
}

#: Every layer ``gridsvc export`` and the export API know.
EXPORT_LAYERS: dict[str, Layer] = {**LAYERS, **EXPORT_ONLY_LAYERS}


def child_layer(layer: Layer) -> Layer | None:
    """Return the layer whose rows belong to ``layer``'s (streets for districts), if any."""
    return next((child for child in LAYERS.values() if child.parent == layer.name), None)


def get_layer(name: str, layers: dict[str, Layer] = LAYERS) -> Layer:
    """Return the layer called ``name``; the ValueError lists the known ones."""
    try:
        return layers[name]
    except KeyError:
        known = ", ".join(layers)
        raise ValueError(f"unknown layer '{name}'; known layers: {known}") from None
