"""Reference layers under a served map: boundaries, streets and names from the /ogc tiles.

Offline orientation from the project's own data: district, street and community outlines,
the walking network drawn as streets, and place names at the zooms the tiles carry them
(districts from 6, streets from 10, communities from 12). The drawing is
``gridsvc/maps/static/reference.js`` (Leaflet.VectorGrid), shared with the residents' pin
map. Tiles are in WGS-84, so the layers go only on maps with no base map or a WGS-84 one,
and only on pages the service serves (a written file has no tile server to ask).
"""

from __future__ import annotations

import json

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template


class ReferenceLayers(JSCSSMixin, MacroElement):
    """``GridsvcReference.add(map, {ogc})`` on the map: reference tiles and their names."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (window.GridsvcReference) {
            window.GridsvcReference.add({{ this._parent.get_name() }}, {ogc: {{ this.ogc }}});
        }
        {% endmacro %}
        """
    )
    # Names of gridsvc.maps.assets.LOCAL_ASSETS: localize() points them at /static.
    default_js = [("vectorgrid", "vectorgrid"), ("gridsvc_reference", "gridsvc_reference")]

    def __init__(self, ogc_url: str) -> None:
        super().__init__()
        self._name = "ReferenceLayers"
        self.ogc = json.dumps(ogc_url.rstrip("/"))
