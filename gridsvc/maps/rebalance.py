"""The review map of a rebalancing proposal: proposed grids beside today's, the change table.

Pure: takes the proposal's frames (WGS-84) and returns a folium map. Both generations are
coloured by their load in three classes, the band being the legend (below, in, above);
today's grids are a layer of their own (off at start) and their outlines a dashed layer
over the proposal, so the eye compares the two. A panel holds the figures out of band
before and after and the change table (which old grid went to which new one).
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from gridsvc.maps import layers
from gridsvc.maps.basemap import CANVAS_THRESHOLD, RenderOptions, new_map, prepare, to_html
from gridsvc.maps.controls import GridPopup, SearchBox
from gridsvc.maps.furniture import Legend
from gridsvc.maps.render import bounds_of

#: Below, in and above the band.
BAND_COLORS = ["#67a9cf", "#1a9641", "#ef8a62"]
MEASURE_LABELS = {
    "households": "户 households",
    "residents": "居民 residents",
    "grid_workers": "网格员 grid workers",
}
TOOLTIP = {
    "code": "网格编码 code",
    "name": "网格 grid",
    "load": "负荷 load",
    "households": "户 households",
    "grid_workers": "网格员 grid workers",
    "polsby_popper": "紧凑度 Polsby–Popper",
}
#: The panel lists this many rows of the change table; the API and CLI give them all.
PANEL_CHANGES = 300


def band_classes(load: pd.Series, low: float, high: float) -> pd.Series:
    """Class of each load: 0 below the band, 1 in it, 2 above it."""
    return (load >= low).astype(int) + (load > high).astype(int)


def band_legend(low: float, high: float, measure: str) -> Legend:
    """Return the band as the legend: below, in, above."""
    entries = [
        (BAND_COLORS[0], f"&lt; {low:g} 低于 below"),
        (BAND_COLORS[1], f"{low:g} – {high:g} 在区间 in band"),
        (BAND_COLORS[2], f"&gt; {high:g} 高于 above"),
    ]
    return Legend(f"{MEASURE_LABELS[measure]} / 网格 per grid", entries)


def grid_layer(grids: gpd.GeoDataFrame, low: float, high: float, name: str) -> folium.GeoJson:
    """Grids filled by their class against the band."""
    frame = grids.assign(band_class=band_classes(grids["load"], low, high))
    return layers.classed_polygons(
        frame,
        "band_class",
        [0, 1, 2, 3],
        BAND_COLORS,
        TOOLTIP,
        name,
        ("community_name", "population"),
    )


def panel_html(summary: dict, changes: pd.DataFrame, proposal_id: str) -> str:
    """Return the figures and the change table as escaped HTML."""
    figures = (
        f"<b>建议 proposal {html.escape(proposal_id)}</b><br>"
        f"网格 grids: {summary['grids_before']:,} → {summary['grids_after']:,}<br>"
        f"区间外 out of band: {summary['out_of_band_before']:,} → "
        f"{summary['out_of_band_after']:,} (可达区间的社区中 where the total allows: "
        f"{summary['out_of_band_after_where_allowed']:,})<br>"
        f"紧凑度 Polsby–Popper: {summary['polsby_popper_before']} → "
        f"{summary['polsby_popper_after']}<br>"
        f"建议网格员 grid workers suggested: {summary['grid_workers_suggested']:,}"
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(row[c]))}</td>"
            for c in ("old_code", "old_households", "new_code", "households", "new_households")
        )
        + "</tr>"
        for _, row in changes.head(PANEL_CHANGES).iterrows()
    )
    more = len(changes) - PANEL_CHANGES
    tail = f"<div>… {more:,} more rows in the API / CLI</div>" if more > 0 else ""
    head = (
        "<tr><th>旧网格 old</th><th>旧户 hh before</th><th>新网格 new</th>"
        "<th>转入户 hh moved</th><th>新户 hh after</th></tr>"
    )
    return (
        f'<div class="rebalance-figures">{figures}</div><details><summary>变更表 change '
        f'table ({len(changes):,})</summary><table class="rebalance-changes">{head}{rows}'
        f"</table>{tail}</details>"
    )


class Panel(MacroElement):
    """A panel in the top-right corner holding given (escaped) HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var panel = L.control({position: "topright"});
            panel.onAdd = function() {
                var div = L.DomUtil.create("div", "map-legend rebalance-panel");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableScrollPropagation(div);
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            panel.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "RebalancePanel"
        self.html = html_text


PANEL_CSS = (
    "<style>.rebalance-panel { max-width: 30em; max-height: 55vh; overflow: auto; }"
    ".rebalance-changes td, .rebalance-changes th { padding: 0 4px; font-size: 11px; }"
    "</style>"
)


def rebalance_map(
    proposal,
    title: str,
    options: RenderOptions,
) -> folium.Map:
    """Proposed grids (on) beside today's (a layer, off), the band as legend, the figures."""
    band = proposal.request.band
    new = prepare(proposal.new_grids, options)
    old = prepare(proposal.old_grids, options)
    many = len(new) + len(old) > CANVAS_THRESHOLD
    fmap = new_map(bounds_of(new, old), title, options, many)
    fmap.get_root().header.add_child(folium.Element(PANEL_CSS), name="rebalance_css")
    fmap.add_child(GridPopup())
    proposed = grid_layer(new, band.low, band.high, f"建议网格 proposed grids ({len(new):,})")
    today = grid_layer(old, band.low, band.high, f"今天的网格 today's grids ({len(old):,})")
    today.show = False
    proposed.add_to(fmap)
    today.add_to(fmap)
    layers.plain_polygons(
        old,
        "今天的边界 today's outlines",
        "#333333",
        fill_opacity=0,
        dash="4 4",
        interactive=False,
    ).add_to(fmap)
    fmap.add_child(band_legend(band.low, band.high, proposal.request.measure))
    fmap.add_child(Panel(panel_html(proposal.summary(), proposal.changes, proposal.id)))
    fmap.add_child(SearchBox())
    return fmap


def rebalance_map_page(proposal, title: str, options: RenderOptions) -> str:
    """Return the review map as an offline HTML page."""
    return to_html(rebalance_map(proposal, title, options), options)
