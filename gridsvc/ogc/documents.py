"""The OGC API's JSON documents (landing page, conformance, collections) and their HTML.

Pure: takes the base URL and the registry, returns dicts or HTML text.
"""

from __future__ import annotations

import html
import json
from typing import Any

from gridsvc.ogc.collections import Collection
from gridsvc.ogc.crs import CRS84, offered

JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
MVT = "application/vnd.mapbox-vector-tile"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
JSON_SCHEMA_TYPES = {"date-time": {"type": "string", "format": "date-time"}}


def link(href: str, rel: str, kind: str, title: str) -> dict[str, str]:
    """One link object."""
    return {"href": href, "rel": rel, "type": kind, "title": title}


def landing(base: str) -> dict[str, Any]:
    """Return the landing page."""
    return {
        "title": "gridsvc OGC API",
        "description": "The city's grids, boundaries, facilities, coverage and gaps as OGC API"
        " - Features and Tiles.",
        "links": [
            link(f"{base}?f=json", "self", JSON, "this document"),
            link(f"{base}?f=html", "alternate", HTML, "this document as HTML"),
            link(f"{base}/api", "service-desc", OPENAPI, "the API definition"),
            link(f"{base}/api?f=html", "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "collections"),
            link(
                f"{base}/tileMatrixSets",
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                JSON,
                "tile matrix sets",
            ),
        ],
    }


def collection(
    base: str, found: Collection, extent: list[float] | None, metric_srid: int
) -> dict[str, Any]:
    """One collection's description, with its CRSs, items, queryables and tiles links."""
    here = f"{base}/collections/{found.id}"
    return {
        "id": found.id,
        "title": found.title,
        "description": found.description,
        "itemType": "feature",
        "crs": list(offered(metric_srid)),
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [extent or [-180, -90, 180, 90]], "crs": CRS84}},
        "links": [
            link(here, "self", JSON, found.title),
            link(f"{here}?f=html", "alternate", HTML, found.title),
            link(f"{here}/items", "items", GEOJSON, "features"),
            link(f"{here}/items?f=html", "items", HTML, "features as HTML"),
            link(
                f"{here}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "queryables",
            ),
            link(f"{here}/queryables", "queryables", JSON, "queryables (GDAL 3.6's rel)"),
            link(f"{here}/schema", "describedby", "application/schema+json", "schema"),
            link(f"{here}/schema", "describedBy", "application/schema+json", "schema (GDAL)"),
            link(
                f"{here}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                "item",
                MVT,
                f"vector tiles from zoom {found.min_zoom}",
            ),
        ],
    }


def schema(base: str, found: Collection) -> dict[str, Any]:
    """JSON Schema of the collection's properties (queryables, and GDAL's describedby)."""
    properties: dict[str, Any] = {
        name: dict(JSON_SCHEMA_TYPES.get(kind, {"type": kind}), title=name)
        for name, kind in found.properties.items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base}/collections/{found.id}/queryables",
        "type": "object",
        "title": found.title,
        "properties": properties,
        "additionalProperties": False,
        # The draft's list, which GDAL 3.6 reads to send filters to the server.
        "queryables": [{"id": name, "type": kind} for name, kind in found.properties.items()],
    }


def rooted_api(openapi: dict[str, Any], base: str) -> dict[str, Any]:
    """Return the service's OpenAPI document cut to ``/ogc``, its paths relative to ``base``.

    OGC clients (GDAL) look up ``/collections/{collectionId}/items`` under the server URL.
    """
    paths = {
        path.removeprefix("/ogc") or "/": operations
        for path, operations in openapi.get("paths", {}).items()
        if path == "/ogc" or path.startswith("/ogc/")
    }
    return {**openapi, "servers": [{"url": base}], "paths": paths}


def page(title: str, body: str) -> str:
    """Return a bare HTML page (no script, no outside resource)."""
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )


def links_html(links: list[dict[str, str]]) -> str:
    """Return a list of links."""
    items = "".join(
        f'<li><a href="{html.escape(x["href"])}">{html.escape(x["title"])}</a>'
        f" ({html.escape(x['rel'])}, {html.escape(x['type'])})</li>"
        for x in links
    )
    return f"<ul>{items}</ul>"


def as_html(title: str, document: dict[str, Any]) -> str:
    """Any JSON document as HTML: its links as a list, the rest as indented JSON."""
    rest = {k: v for k, v in document.items() if k not in ("links", "features")}
    body = links_html(document.get("links", []))
    for entry in document.get("collections", []):
        body += f"<h2>{html.escape(entry['title'])}</h2>" + links_html(entry["links"][:4])
    body += f"<pre>{html.escape(json.dumps(rest, ensure_ascii=False, indent=1)[:20000])}</pre>"
    return page(title, body)


def features_html(title: str, features: list[dict[str, Any]], links: list[dict]) -> str:
    """Return a page of features as a table (geometry left out)."""
    names: list[str] = list(features[0]["properties"]) if features else []
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ["id", *names])
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in [f.get("id"), *(f["properties"].get(n) for n in names)]
        )
        + "</tr>"
        for f in features
    )
    return page(title, links_html(links) + f"<table><tr>{head}</tr>{rows}</table>")
