"""The bulletin's hotspot map: grids shaded by their cases, as inline SVG (nothing fetched).

Pure: GeoJSON features in, SVG text out. Longitude is scaled by cos(latitude) so a city
a few tens of kilometres across keeps its shape; that is all a printed page needs.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT, MARGIN = 640.0, 420.0, 10.0
SHADES = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")


def rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """Return every ring of a Polygon or MultiPolygon."""
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def shade(cases: int, most: int) -> str:
    """Return the fill for ``cases`` on a scale up to ``most`` (five classes)."""
    index = min(len(SHADES) - 1, (cases * len(SHADES) - 1) // max(most, 1))
    return SHADES[max(index, 0)]


def svg_map(features: list[dict[str, Any]]) -> str:
    """Return an SVG of the features' grids shaded by ``properties.cases``, with titles."""
    if not features:
        return ""
    points = [p for f in features for ring in rings(f["geometry"]) for p in ring]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x, span_y = max((east - west) * squeeze, 1e-9), max(north - south, 1e-9)
    scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)

    def xy(point: list[float]) -> str:
        x = MARGIN + (point[0] - west) * squeeze * scale
        y = MARGIN + (north - point[1]) * scale
        return f"{x:.1f},{y:.1f}"

    most = max(f["properties"]["cases"] for f in features)
    shapes = []
    for feature in features:
        properties = feature["properties"]
        path = " ".join(
            "M" + " L".join(xy(p) for p in ring) + " Z" for ring in rings(feature["geometry"])
        )
        label = escape(
            f"{properties['code']} {properties.get('name') or ''}: {properties['cases']} 件"
        )
        shapes.append(
            f'<path d="{path}" fill="{shade(properties["cases"], most)}" stroke="#555" '
            f'stroke-width="0.5"><title>{label}</title></path>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        f'width="{WIDTH:g}" height="{HEIGHT:g}" role="img" aria-label="热点网格">'
        + "".join(shapes)
        + "</svg>"
    )
