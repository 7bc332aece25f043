"""The shape of the house: which way the imports point, and how long modules and functions are.

Every module of ``gridsvc/`` is parsed with ``ast``; every import counts, those inside
functions too (a lazy import hides a cycle, it does not remove it). The nodes are the
packages (``gridsvc.auth``, ``gridsvc.issues``, ...) and the top-level modules
(``gridsvc.config``, ``gridsvc.db``, ``gridsvc.models``). ``gridsvc.cli`` and
``gridsvc.main`` are the composition roots: they may import everything, nothing imports them.

The layers, lowest first; a node imports only nodes of lower layers:

1. ``config``: the settings and the value types they parse (crontab lines).
2. ``cluster``: which database server, its URL, its migrations (needs only the settings).
3. ``db``: engine, sessions, Base, the request's and the command's transaction.
4. ``common``: geometry, coordinates, errors, limits, the shared tables and middleware.
5. ``auth``: principals, tokens, the scope dependencies.
6. ``grids``, then ``facilities`` (a facility lies in a grid).
7. ``coverage`` (reads grids and facilities), then ``geodata`` (imports the city's layers and
   refreshes coverage after them), then ``issues`` (routes reports to grids).
8. ``ogc``, then ``maps`` (the maps draw the OGC tiles), then ``rebalancing`` (proposes,
   reviews on a map and applies new grids: it moves issues and refreshes coverage).
9. ``residents``, ``region``, ``health``: leaves that nothing else imports.
10. ``models``: the registry of every table, for Alembic.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "gridsvc"
ROOTS = {"gridsvc.cli", "gridsvc.main"}
LAYERS = [
    ["gridsvc", "gridsvc.config"],
    ["gridsvc.cluster"],
    ["gridsvc.db"],
    ["gridsvc.common"],
    ["gridsvc.auth"],
    ["gridsvc.grids"],
    ["gridsvc.facilities"],
    ["gridsvc.coverage"],
    ["gridsvc.geodata"],
    ["gridsvc.issues"],
    ["gridsvc.ogc"],
    ["gridsvc.maps"],
    ["gridsvc.rebalancing"],
    ["gridsvc.residents", "gridsvc.region", "gridsvc.health"],
    ["gridsvc.models"],
]
#: Package edges that still point upwards, each with the work that removes it. Any other
#: upward edge (so any new cycle) fails; an entry that no longer occurs fails too.
KNOWN_UPWARD_EDGES: set[tuple[str, str]] = set()
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
KNOWN_LONG_FUNCTIONS: set[str] = set()
#: The tables of the domains below coverage: it reads them only through their services.
OTHER_DOMAINS_TABLES = {
    "districts",
    "streets",
    "communities",
    "grids",
    "population_points",
    "facility_types",
    "facilities",
}
#: ``path: what`` of coverage's own SQL over those tables or imports of other domains'
#: models, each with the work that removes it. An entry that no longer occurs fails too.
KNOWN_COVERAGE_READS: set[str] = set()
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)")


def module_name(path: Path) -> str:
    """Return the dotted name of the module at ``path`` (a package's for ``__init__.py``)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name an import of ``path`` mentions, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def node_of(module: str) -> str:
    """Return the graph node of ``module``: its top-level package or module under gridsvc."""
    return ".".join(module.split(".")[:2])


def package_edges() -> dict[tuple[str, str], set[str]]:
    """Return every edge between nodes, with the module imports that make it."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[tuple[str, str], set[str]] = {}
    for module, path in modules.items():
        for name in imported_names(path, module):
            # "from gridsvc.x import y": y is a module or a name in x; take the longest module.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            source, target = node_of(module), node_of(name)
            if name.startswith("gridsvc") and source != target:
                edges.setdefault((source, target), set()).add(f"{module} imports {name}")
    return edges


def layer_of(node: str) -> int:
    """Return the index of ``node``'s layer."""
    return next(index for index, layer in enumerate(LAYERS) if node in layer)


def test_every_node_has_a_layer() -> None:
    nodes = {node_of(module_name(path)) for path in PACKAGE.rglob("*.py")}
    layered = {node for layer in LAYERS for node in layer}
    assert nodes - ROOTS - layered == set(), "give each new package a layer in LAYERS"
    assert layered - nodes == set(), "LAYERS names a package that does not exist"


def test_nothing_imports_the_composition_roots() -> None:
    into_roots = {edge: why for edge, why in package_edges().items() if edge[1] in ROOTS}
    assert into_roots == {}


def test_imports_point_down_the_layers() -> None:
    edges = package_edges()
    upward = {
        (source, target): sorted(why)
        for (source, target), why in edges.items()
        if source not in ROOTS and layer_of(target) >= layer_of(source)
    }
    unknown = {edge: why for edge, why in upward.items() if edge not in KNOWN_UPWARD_EDGES}
    assert unknown == {}, "an import points up (or sideways): move the code where it belongs"
    assert KNOWN_UPWARD_EDGES - set(upward) == set(), "a known edge is gone: remove it here"


def test_no_cycle_between_packages() -> None:
    graph = nx.DiGraph(
        edge for edge in package_edges() if edge[0] not in ROOTS and edge not in KNOWN_UPWARD_EDGES
    )
    assert list(nx.simple_cycles(graph)) == []


def test_no_module_is_over_the_limit() -> None:
    lengths = {
        str(path.relative_to(PACKAGE.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def long_functions() -> dict[str, int]:
    """Return ``path:function`` of every function in gridsvc/ over the limit, with its lines."""
    found: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{path.relative_to(PACKAGE.parent)}:{node.name}"] = lines
    return found


def test_no_function_is_over_the_limit() -> None:
    found = long_functions()
    assert {name: n for name, n in found.items() if name not in KNOWN_LONG_FUNCTIONS} == {}
    assert KNOWN_LONG_FUNCTIONS - set(found) == set(), "a known long function is short now"


def test_the_walk_sees_imports_inside_functions() -> None:
    # refresh_coverage imports the coverage service inside the function, on purpose late.
    why = package_edges()[("gridsvc.geodata", "gridsvc.coverage")]
    assert "gridsvc.geodata.cli imports gridsvc.coverage.service" in why


def other_domain_reads(source: str, module: str) -> set[str]:
    """What in ``source`` (of ``module``) reads another domain's tables but its service.

    Upper-case SQL naming one of :data:`OTHER_DOMAINS_TABLES` in a string literal (implicit
    concatenation and f-strings included), and any import of another package's ``models``.
    """
    own = node_of(module)
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for table in SQL_TABLE.findall(node.value):
                if table in OTHER_DOMAINS_TABLES:
                    found.add(f"{module}:{node.lineno}: SQL over {table}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module}.{name}" for name in names)]
            for name in names:
                if name.endswith(".models") and node_of(name) != own and name.startswith("gridsvc"):
                    found.add(f"{module}:{node.lineno}: imports {name}")
    return found


def test_coverage_reads_other_domains_through_their_services() -> None:
    found: set[str] = set()
    for path in (PACKAGE / "coverage").rglob("*.py"):
        found |= other_domain_reads(path.read_text(encoding="utf-8"), module_name(path))
    assert found - KNOWN_COVERAGE_READS == set(), "call grids_service or facilities_service"
    assert KNOWN_COVERAGE_READS - found == set(), "a known read is gone: remove it here"


def test_the_read_check_sees_sql_and_model_imports() -> None:
    source = (
        "from gridsvc.grids.models import Grid\n"
        "from gridsvc.coverage.models import ServiceArea\n"
        "SQL = ('SELECT code FROM grids g'\n"
        "       ' JOIN communities c ON c.id = g.community_id')\n"
        "DOC = 'computed from facilities near the grids'\n"
    )
    assert other_domain_reads(source, "gridsvc.coverage.example") == {
        "gridsvc.coverage.example:1: imports gridsvc.grids.models",
        "gridsvc.coverage.example:3: SQL over grids",
        "gridsvc.coverage.example:3: SQL over communities",
    }
