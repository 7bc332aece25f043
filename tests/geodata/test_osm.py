"""OSM import of the small extract the pyrosm package ships (``test.osm.pbf``, Finland)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyrosm
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridsvc.common.errors import GridsvcError
from gridsvc.config import get_settings
from gridsvc.geodata.tagmap import DEFAULT_TAGS_FILE, TagRule, load_tag_map, parse_tag_map
from tests.city_cli import Cli


@pytest.fixture(scope="module")
def extract() -> Path:
    path = Path(pyrosm.get_data("test_pbf"))
    # Shipped inside the package: nothing is downloaded.
    assert Path(pyrosm.__file__).parent in path.parents
    return path


def components(edges: list[tuple[int, int]]) -> int:
    ids, inverse = np.unique(np.array(edges).ravel(), return_inverse=True)
    pairs = inverse.reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), (len(ids), len(ids)))
    return connected_components(graph, directed=False)[0]


def test_walking_network_and_facilities(cli: Cli, extract: Path) -> None:
    result = cli.ok("import", "osm", extract)
    assert "walking nodes" in result.output
    # The extract (Finland, UTM 35N) is not where the tests' city is (UTM 49N): said so.
    assert "UTM zone EPSG:32635" in result.stderr and "EPSG:32649" in result.stderr
    nodes, edges = cli.count("network_nodes"), cli.count("network_edges")
    assert nodes > 500 and edges > 500
    pairs = cli.rows("SELECT source, target FROM network_edges")
    assert components(pairs) == 1
    # Lengths are metres on the ground: compare with PostGIS on the spheroid.
    worst = cli.scalar(
        "SELECT max(abs(length_m - ST_Length(geom::geography)) / length_m) FROM network_edges"
    )
    assert worst < 0.005
    highways = load_tag_map().walking_highways
    assert "footway" in highways and "residential" in highways
    types = dict(cli.rows("SELECT type_code, count(*) FROM facilities GROUP BY 1"))
    assert types and set(types) <= set(load_tag_map().facility_types)
    assert cli.scalar("SELECT count(*) FROM facilities WHERE source <> 'osm'") == 0
    # The types the rules name were created from the mapping file.
    assert set(types) <= {row[0] for row in cli.rows("SELECT code FROM facility_types")}

    again = cli("import", "osm", extract)
    assert again.exit_code == 1 and "--replace" in again.output
    cropped = cli.ok("import", "osm", extract, "--replace", "--bbox", "26.93,60.52,26.95,60.53")
    assert "walking nodes" in cropped.output
    assert 0 < cli.count("network_edges") < edges
    west, south, east, north = cli.rows(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM network_nodes) x"
    )[0]
    assert 26.92 < west and east < 26.96 and 60.51 < south and north < 60.54


def test_facilities_may_use_types_the_mapping_file_declares(cli: Cli, city_files) -> None:
    cli.load_boundaries(city_files)
    data = city_files.frames["facilities"].copy()
    data["type_code"] = ["pharmacy", "kindergarten"]
    cli.ok("import", "facilities", city_files.write("mapped", data))
    assert cli.scalar("SELECT name_en FROM facility_types WHERE code = 'pharmacy'") == "Pharmacy"


def test_tag_rules_first_match_wins() -> None:
    tag_map = load_tag_map(DEFAULT_TAGS_FILE)
    assert tag_map.type_of({"amenity": "kindergarten"}) == "kindergarten"
    assert tag_map.type_of({"amenity": "pharmacy", "shop": "chemist"}) == "pharmacy"
    assert tag_map.type_of({"shop": "supermarket"}) == "shop_market"
    assert tag_map.type_of({"leisure": "playground"}) == "park_square"
    assert tag_map.type_of({"amenity": "bench"}) is None
    assert TagRule("x", {"shop": "*"}).matches({"shop": "bakery"})
    assert tag_map.tag_filter()["shop"] is True


def test_a_rule_naming_an_undeclared_type_is_refused() -> None:
    document = {
        "walking_highways": ["footway"],
        "facility_types": {},
        "rules": [{"type_code": "zoo", "tags": {"tourism": ["zoo"]}}],
    }
    with pytest.raises(GridsvcError, match="not declared under facility_types: zoo"):
        parse_tag_map(document)


def test_without_pyrosm_the_import_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gridsvc.geodata.osm import open_extract

    monkeypatch.setitem(sys.modules, "pyrosm", None)  # import pyrosm now raises ImportError
    with pytest.raises(GridsvcError, match=r"gridsvc\[osm\]"):
        open_extract(tmp_path / "city.osm.pbf", None)


def test_an_extract_in_the_citys_own_zone_imports_without_a_warning(
    cli: Cli, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDSVC_CITY_BBOX", "26.8,60.4,27.1,60.6")  # the extract's city
    get_settings.cache_clear()
    try:
        assert get_settings().metric_crs == "EPSG:32635"
        result = cli.ok("import", "osm", extract)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "walking nodes" in result.output and "warning" not in result.stderr
