"""The JavaScript and CSS that maps and API docs load, served by gridsvc itself.

Planners often sit on an intranet, and in China the usual CDNs for Leaflet are often
blocked, so no page gridsvc serves or writes may load anything from the internet. Every
asset comes from an installed package: Leaflet, Leaflet.markercluster, Leaflet.VectorGrid
and Swagger UI from the npm registry (``npm ci`` into ``node_modules/``, see
``package.json``), Leaflet.heat from folium's own templates (PyPI), and gridsvc's own
``reference.js`` (the reference layers) from ``gridsvc/maps/static``.

folium names each asset it needs (``leaflet``, ``markerclusterjs``...) and points it at a
CDN. :func:`localize` rewrites every element of a map to the local copies, drops the ones
gridsvc's maps do not use (jQuery, Bootstrap, Font Awesome: no icon markers are drawn),
and refuses any asset it does not know, so a CDN URL can never slip into a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import folium

from gridsvc.common.errors import GridsvcError

FOLIUM_TEMPLATES = Path(folium.__file__).resolve().parent / "templates"
#: gridsvc's own scripts for its pages (the reference layers), beside this module.
GRIDSVC_STATIC = Path(__file__).resolve().parent / "static"


class AssetError(GridsvcError):
    """An asset is unknown to the registry or its package is not installed."""


@dataclass(frozen=True)
class StaticFolder:
    """A folder of an installed package, served under ``/static/<name>/``."""

    name: str
    source: str  # "npm" (under the assets dir), "folium" (its templates) or "gridsvc" (ours)
    path: str
    probe: str  # a file that must exist when the package is installed

    def directory(self, assets_dir: Path) -> Path:
        """Where the folder is on disk, for ``assets_dir`` (``node_modules``)."""
        root = {"folium": FOLIUM_TEMPLATES, "gridsvc": GRIDSVC_STATIC}.get(self.source, assets_dir)
        return root / self.path


STATIC_FOLDERS = (
    StaticFolder("leaflet", "npm", "leaflet/dist", "leaflet.js"),
    StaticFolder(
        "leaflet.markercluster",
        "npm",
        "leaflet.markercluster/dist",
        "leaflet.markercluster.js",
    ),
    StaticFolder(
        "leaflet.vectorgrid",
        "npm",
        "leaflet.vectorgrid/dist",
        "Leaflet.VectorGrid.bundled.min.js",
    ),
    StaticFolder("swagger-ui", "npm", "swagger-ui-dist", "swagger-ui-bundle.js"),
    StaticFolder("gridsvc", "gridsvc", ".", "reference.js"),
    StaticFolder("folium", "folium", ".", "leaflet_heat.min.js"),
)

#: folium's asset names -> file under /static/ (folder/file).
LOCAL_ASSETS = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet-heat.js": "folium/leaflet_heat.min.js",
    "vectorgrid": "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "gridsvc_reference": "gridsvc/reference.js",
}

#: folium's defaults that gridsvc's maps never need: no popups in Bootstrap, no icon fonts.
UNUSED_ASSETS = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
    }
)

SWAGGER_JS = "swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui/swagger-ui.css"
SWAGGER_FAVICON = "swagger-ui/favicon-32x32.png"


def static_url(base_url: str, asset: str) -> str:
    """URL of ``asset`` (``folder/file``) under ``base_url`` (``/static`` or a relative path)."""
    return f"{base_url.rstrip('/')}/{asset}"


def local_links(links: list[tuple[str, str]], base_url: str) -> list[tuple[str, str]]:
    """Return folium's ``(name, url)`` links rewritten to local URLs, unused ones dropped.

    Raises
    ------
    AssetError
        If a name is neither local nor known to be unused: it would load from a CDN.
    """
    local = []
    for name, url in links:
        if name in UNUSED_ASSETS:
            continue
        if name not in LOCAL_ASSETS:
            raise AssetError(f"map asset '{name}' ({url}) has no local copy in gridsvc.maps.assets")
        local.append((name, static_url(base_url, LOCAL_ASSETS[name])))
    return local


def walk(element: object) -> Iterator[object]:
    """Return the element and all its descendants in a branca tree."""
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from walk(child)


def localize(root: object, base_url: str) -> None:
    """Point every JS and CSS link in the tree at ``base_url`` instead of a CDN.

    Parameters
    ----------
    root : folium.Map or branca.element.Element
        The map, before it is rendered.
    base_url : str
        ``/static`` for pages the service serves; a relative folder for written files.
    """
    for element in walk(root):
        for attribute in ("default_js", "default_css"):
            links = getattr(element, attribute, None)
            if links:
                # An instance list: folium's class-level lists stay untouched.
                setattr(element, attribute, local_links(list(links), base_url))


def missing_folders(assets_dir: Path) -> list[StaticFolder]:
    """Return the static folders whose package is not installed."""
    return [
        folder
        for folder in STATIC_FOLDERS
        if not (folder.directory(assets_dir) / folder.probe).is_file()
    ]


def check_installed(assets_dir: Path) -> None:
    """Raise AssetError naming the missing packages and how to install them."""
    missing = missing_folders(assets_dir)
    if missing:
        names = ", ".join(folder.path.split("/")[0] for folder in missing)
        raise AssetError(
            f"map assets are not installed in {assets_dir} ({names}): run 'npm ci' in the "
            "project folder (make demo and make test do it)"
        )


def files_to_copy(assets_dir: Path, base_url: str, html: str) -> Iterator[tuple[Path, str]]:
    """Each installed file a page refers to under ``base_url``, with its path there.

    A written map is opened from disk, so the files it links (and the images and fonts
    their CSS points at, which live beside them) are copied next to it.
    """
    for folder in STATIC_FOLDERS:
        if f"{base_url.rstrip('/')}/{folder.name}/" not in html:
            continue
        directory = folder.directory(assets_dir)
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.suffix in {".js", ".css", ".png", ".svg"}:
                yield path, f"{folder.name}/{path.relative_to(directory)}"
