"""The furniture of every map: legend, metric scale, title, north arrow, fit to extent.

Pure: folium elements with plain HTML and JavaScript (no library beyond Leaflet), and the
stylesheet they share (with its print and small-screen rules).
"""

from __future__ import annotations

from branca.element import MacroElement
from folium.template import Template


class Legend(MacroElement):
    """A classed legend in the map's bottom-right corner (plain HTML, no library)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "map-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        title: str,
        entries: list[tuple[str, str]],
        marks: tuple[tuple[str, str], ...] = (),
        notes: str = "",
    ) -> None:
        super().__init__()
        self._name = "Legend"
        styles = [(f"background:{color}", label) for color, label in entries] + list(marks)
        rows = "".join(
            f'<div class="map-legend-class"><i style="{style}"></i>{label}</div>'
            for style, label in styles
        )
        self.html = f'<div class="map-legend-title">{title}</div>{rows}{notes}'


class MetricScale(MacroElement):
    """A scale bar in metres and kilometres only (Leaflet's default adds miles and feet)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true, maxWidth: 150})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class FitBounds(MacroElement):
    """Fit the map to the data at once: an animated fit swallows the planner's first zoom."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {animate: false});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds = bounds


#: Below this screen width the layer control starts folded into its button.
SMALL_SCREEN = "(max-width: 700px)"


LEGEND_CSS = """
<style>
.map-legend { background: rgba(255,255,255,.92); padding: 6px 9px; font: 12px/1.5 sans-serif;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.35); }
.map-legend-title { font-weight: bold; margin-bottom: 3px; }
.map-legend i { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
  vertical-align: -1px; border: 1px solid #777; }
.map-legend svg { vertical-align: -2px; margin-right: 4px; }
.map-legend-note { margin-top: 4px; max-width: 15em; color: #333; }
.leaflet-control-layers-overlays svg { vertical-align: -1px; }
.facility-symbol { background: none; border: none; }
.facility-cluster { background: none; }
@media (max-width: 700px) { .map-legend { font-size: 11px; max-height: 40vh; overflow: auto; }
  .map-title { font-size: 12px; max-width: 60vw; } }
.map-search { background: #fff; padding: 4px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.35); font: 13px sans-serif; }
.map-search input { width: 15em; border: 1px solid #aaa; padding: 3px 5px; }
.map-search-hit { cursor: pointer; padding: 2px 4px; max-width: 17em; overflow: hidden;
  white-space: nowrap; text-overflow: ellipsis; }
.map-search-hit:hover { background: #eef; }
.grid-popup table { border-collapse: collapse; margin: 4px 0; }
.grid-popup td { padding: 0 6px 0 0; }
@media (max-width: 700px) { .map-search input { width: 9em; } }
.map-note { font-weight: normal; font-size: 11px; color: #444; }
.map-north { background: rgba(255,255,255,.85); border-radius: 4px; padding: 2px 3px 0; }
@media print {
  .leaflet-control-layers, .map-search, .scenario-panel, .leaflet-control-zoom,
  .leaflet-popup { display: none !important; }
  .map-legend, .map-title, .map-north { box-shadow: none; border: 1px solid #999; }
}
.map-title { background: rgba(255,255,255,.92); padding: 4px 10px; font: bold 14px sans-serif;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.35); }
</style>
"""


class Title(MacroElement):
    """The map's title, top centre."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var title = L.control({position: "topleft"});
            title.onAdd = function() {
                var div = L.DomUtil.create("div", "map-title");
                div.textContent = {{ this.text|tojson }};
                if ({{ this.note|tojson }}) {
                    var note = L.DomUtil.create("div", "map-note", div);
                    note.textContent = {{ this.note|tojson }};
                }
                return div;
            };
            title.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, text: str, note: str = "") -> None:
        super().__init__()
        self._name = "Title"
        self.text = text
        self.note = note


class NorthArrow(MacroElement):
    """A north arrow (the maps are in Web Mercator: north is straight up)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var arrow = L.control({position: "bottomleft"});
            arrow.onAdd = function() {
                var div = L.DomUtil.create("div", "map-north");
                div.innerHTML = '<svg width="22" height="34" viewBox="0 0 22 34">' +
                    '<polygon points="11,2 19,24 11,19 3,24" fill="#222"/>' +
                    '<text x="11" y="33" text-anchor="middle" font-size="10"' +
                    ' font-family="sans-serif">N</text></svg>';
                div.title = "北 north";
                return div;
            };
            arrow.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "NorthArrow"
