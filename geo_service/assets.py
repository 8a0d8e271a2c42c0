"""Browser assets served by the app itself: folium's CDN links replaced by local npm files.

Folium names every JS/CSS file it needs; each name is either mapped here to a
file of an npm package in package.json, or dropped because the page does not
use it. An unknown name is an error, so a folium upgrade cannot quietly add a
request to the internet.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from branca.element import Element

from geo_service.errors import ConfigError, NotFoundError

# folium asset name -> path inside node_modules
NPM_ASSETS = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet_measure_js": "leaflet-measure/dist/leaflet-measure.min.js",
    "leaflet_measure_css": "leaflet-measure/dist/leaflet-measure.css",
    "Control_MousePosition_js": "leaflet-mouse-position/src/L.Control.MousePosition.js",
    "Control_MousePosition_css": "leaflet-mouse-position/src/L.Control.MousePosition.css",
    "Control_locate_min_js": "leaflet.locatecontrol/dist/L.Control.Locate.min.js",
    "Control_locate_min_css": "leaflet.locatecontrol/dist/L.Control.Locate.min.css",
    "Leaflet.Search.js": "leaflet-search/dist/leaflet-search.min.js",
    "Leaflet.Search.css": "leaflet-search/dist/leaflet-search.min.css",
}
# Loaded by folium.Map by default, used by nothing on our pages: markers are
# CSS-styled divIcons (no icon font), popups are plain DOM (no Bootstrap/jQuery).
DROPPED_ASSETS = frozenset({
    "jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
    "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css",
})
PACKAGES = frozenset(path.split("/")[0] for path in NPM_ASSETS.values())
SERVED_SUFFIXES = frozenset({".js", ".css", ".png", ".svg", ".gif", ".woff", ".woff2"})


def iter_elements(root: Element) -> Iterator[Element]:
    yield root
    for child in root._children.values():
        yield from iter_elements(child)


def localise_assets(root: Element, url_for: Callable[[str], str]) -> None:
    """Point every JS/CSS link of a folium element tree at ``url_for(npm_path)``."""
    for element in iter_elements(root):
        for attribute in ("default_js", "default_css"):
            links = getattr(element, attribute, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name in DROPPED_ASSETS:
                    continue
                if name in NPM_ASSETS:
                    local.append((name, url_for(NPM_ASSETS[name])))
                elif url.startswith("/"):
                    local.append((name, url))  # already ours
                else:
                    raise ConfigError(f"folium asset {name!r} ({url}) has no local copy: add it to assets.NPM_ASSETS")
            setattr(element, attribute, local)


def asset_file(assets_dir: Path, package: str, filename: str) -> Path:
    """The file of an allowed npm package; anything else is not found.

    Only packages named in NPM_ASSETS and static-file suffixes are served, and
    the resolved path must stay inside the package folder.
    """
    if package not in PACKAGES:
        raise NotFoundError(f"no asset package {package!r}")
    base = (assets_dir / package).resolve()
    path = (base / filename).resolve()
    if base not in path.parents or path.suffix not in SERVED_SUFFIXES or not path.is_file():
        raise NotFoundError("no such asset")
    return path


_LINK = re.compile(r'<link rel="stylesheet" href="(?P<url>/[^"]+)"\s*/?>')
_SCRIPT = re.compile(r'<script src="(?P<url>/[^"]+)"></script>')
_CSS_URL = re.compile(r"url\((['\"]?)(?!data:|#)(?P<ref>[^'\")?#]+)[^)]*\)")


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_assets(html: str, resolve: Callable[[str], Path]) -> str:
    """Replace local <script src> and stylesheet links by their contents (images as data: URIs).

    ``resolve`` maps a local URL such as ``/assets/leaflet/dist/leaflet.css`` to its file.
    """

    def css(match: re.Match) -> str:
        path = resolve(match["url"])
        text = path.read_text(encoding="utf-8")

        def embed(ref: re.Match) -> str:
            target = (path.parent / ref["ref"]).resolve()
            return f"url({_data_uri(target)})" if target.is_file() else ref.group(0)

        return f"<style>\n{_CSS_URL.sub(embed, text)}\n</style>"

    def script(match: re.Match) -> str:
        text = resolve(match["url"]).read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>\n{text}\n</script>"

    return _SCRIPT.sub(script, _LINK.sub(css, html))
