"""Reference layers under a served map: boundaries, streets and names from the /ogc tiles.

Offline orientation from the project's own data: district, street and community outlines,
the walking network drawn as streets, and place names at the zooms the tiles carry them
(districts from 6, streets from 10, communities from 12). The drawing is
``gridsvc/maps/static/reference.js`` (Leaflet.VectorGrid), shared with the residents' pin
map. Tiles are in WGS-84, so the layers go only on maps with no base map or a WGS-84 one,
and only on pages the service serves (a written file has no tile server to ask). Their
URLs carry the data version of their tiles (``?v=``), so a reload takes them from the
browser's cache (see :mod:`gridsvc.maps.versions`).
"""

from __future__ import annotations

import json

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from gridsvc.ogc.collections import tile_collections

#: The two tile layers of the reference: the streets under the data, outlines and names over.
REFERENCE_LAYERS = {
    "under": ("network",),
    "over": ("districts", "streets", "communities", "labels"),
}


class ReferenceLayers(JSCSSMixin, MacroElement):
    """``GridsvcReference.add(map, options)`` on the map: reference tiles and their names."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (window.GridsvcReference) {
            window.GridsvcReference.add({{ this._parent.get_name() }}, {{ this.options }});
        }
        {% endmacro %}
        """
    )
    # Names of gridsvc.maps.assets.LOCAL_ASSETS: localize() points them at /static.
    default_js = [("vectorgrid", "vectorgrid"), ("gridsvc_reference", "gridsvc_reference")]

    def __init__(self, ogc_url: str, versions: dict[str, str] | None = None) -> None:
        super().__init__()
        self._name = "ReferenceLayers"
        options: dict[str, object] = {"ogc": ogc_url.rstrip("/")}
        known = tile_collections()
        for layer, collections in REFERENCE_LAYERS.items():
            options[layer] = ",".join(collections)
            options[f"{layer}MinZoom"] = min(known[name].min_zoom for name in collections)
            if versions and layer in versions:
                options[f"{layer}Version"] = versions[layer]
        self.options = json.dumps(options)
