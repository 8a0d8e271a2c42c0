"""Browser assets served by the app itself: folium's CDN links replaced by local npm files.

Folium names every JS/CSS file it needs; each name is either mapped here to a
file of an npm package in package.json, or dropped because the page does not
use it. An unknown name is an error, so a folium upgrade cannot quietly add a
request to the internet.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import brotli
import rcssmin
import rjsmin

from geo_service.errors import ConfigError, NotFoundError
from geo_service.i18n import Text

if TYPE_CHECKING:
    from branca.element import Element  # folium's element tree, only handed in by the map builders

# folium asset name -> path inside node_modules
NPM_ASSETS = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "Control_MousePosition_js": "leaflet-mouse-position/src/L.Control.MousePosition.js",
    "Control_MousePosition_css": "leaflet-mouse-position/src/L.Control.MousePosition.css",
    "Control_locate_min_js": "leaflet.locatecontrol/dist/L.Control.Locate.min.js",
    "Control_locate_min_css": "leaflet.locatecontrol/dist/L.Control.Locate.min.css",
}
# Draws vector base maps (MVT tiles) in Leaflet; added to a page only when it has one.
VECTOR_RENDERER = "protomaps-leaflet/dist/protomaps-leaflet.js"
# Loaded by folium.Map by default, used by nothing on our pages: markers are
# CSS-styled divIcons (no icon font), popups are plain DOM (no Bootstrap/jQuery).
DROPPED_ASSETS = frozenset({
    "jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
    "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css",
})
PACKAGES = frozenset(path.split("/")[0] for path in (*NPM_ASSETS.values(), VECTOR_RENDERER))
EMBED_MAX_BYTES = 1024  # images up to this size go into the stylesheet itself
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
        raise NotFoundError(Text("error", "no such file"))
    base = (assets_dir / package).resolve()
    path = (base / filename).resolve()
    if base not in path.parents or path.suffix not in SERVED_SUFFIXES or not path.is_file():
        raise NotFoundError(Text("error", "no such file"))
    return path


_LINK = re.compile(r'<link rel="stylesheet" href="(?P<url>/[^"]+)"\s*/?>')
_SCRIPT = re.compile(r'<script src="(?P<url>/[^"]+)"></script>')
_CSS_URL = re.compile(r"url\((['\"]?)(?!data:|#)(?P<ref>[^'\")?#]+)[^)]*\)")


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_PREFIX = "/assets/"  # the internal names of asset URLs, as build_map is given them
STATIC_PREFIX = "/static/"


def local_file(url: str, assets_dir: Path) -> Path:
    """The file behind an internal asset URL (``/assets/<npm path>`` or ``/static/<name>``)."""
    if url.startswith(ASSETS_PREFIX):
        package, _, filename = url[len(ASSETS_PREFIX):].partition("/")
        return asset_file(assets_dir, package, filename)
    if url.startswith(STATIC_PREFIX):
        path = STATIC_DIR / Path(url[len(STATIC_PREFIX):]).name
        if path.suffix in SERVED_SUFFIXES and path.is_file():
            return path
    raise NotFoundError(f"not a local asset: {url}")


def _css_with_images(path: Path, link: Callable[[Path], str | None] | None = None) -> str:
    """A stylesheet with the images it refers to embedded as data: URIs (no request per icon).

    With ``link``, images larger than EMBED_MAX_BYTES are left as links to ``link(image)`` instead: most
    are never drawn (Leaflet's default marker icons, retina variants), and a link costs nothing until one is.
    """

    def embed(ref: re.Match) -> str:
        target = (path.parent / ref["ref"]).resolve()
        if not target.is_file():
            return ref.group(0)
        if link is not None and target.stat().st_size > EMBED_MAX_BYTES:
            url = link(target)
            return f"url({url})" if url else ref.group(0)
        return f"url({_data_uri(target)})"

    return _CSS_URL.sub(embed, path.read_text(encoding="utf-8"))


def inline_assets(html: str, resolve: Callable[[str], Path]) -> str:
    """Replace local <script src> and stylesheet links by their contents (images as data: URIs).

    ``resolve`` maps a local URL such as ``/assets/leaflet/dist/leaflet.css`` to its file.
    """

    def css(match: re.Match) -> str:
        return f"<style>\n{_css_with_images(resolve(match['url']))}\n</style>"

    def script(match: re.Match) -> str:
        text = resolve(match["url"]).read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>\n{text}\n</script>"

    return _SCRIPT.sub(script, _LINK.sub(css, html))


# Folium's head has a <script> and a <link> per plugin, every one render-blocking, and a viewport tag that
# forbids zooming. Pages get one stylesheet (put in the page itself) and one deferred script instead, the
# script named by a hash of its content so that browsers keep it for a year (a changed file gets a new name).
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


@dataclass(frozen=True)
class Bundle:
    digest: str
    suffix: str  # "css" or "js"
    body: bytes
    encoded: dict[str, bytes]  # compressed once, at the highest level: {"br": …, "gzip": …}

    @property
    def media_type(self) -> str:
        return "text/css" if self.suffix == "css" else "text/javascript"


def build_bundle(suffix: str, files: Sequence[Path], link: Callable[[Path], str | None] | None = None) -> Bundle:
    """The files joined and minified (rjsmin, rcssmin: the same output as the originals, a third lighter)."""
    if suffix == "css":
        body = rcssmin.cssmin("\n".join(_css_with_images(path, link) for path in files))
    else:  # each file ends its last statement: one missing ";" cannot join two files into one expression
        body = "\n".join(rjsmin.jsmin(path.read_text(encoding="utf-8")) + "\n;" for path in files)
    data = body.encode("utf-8")
    return Bundle(hashlib.sha256(data).hexdigest()[:16], suffix, data, compress_once(data))


ENCODINGS = ("br", "gzip")  # preferred first; browsers send br over HTTPS only


def compress_once(data: bytes) -> dict[str, bytes]:
    """The bytes in each encoding, at the highest level (worth it for what is sent many times)."""
    return {"br": brotli.compress(data, quality=11), "gzip": gzip.compress(data, 9, mtime=0)}


def choose_encoding(accepted: Callable[[str], bool]) -> str | None:
    """The first of ENCODINGS the client accepts (``accepted(name)``), or None for the plain bytes."""
    return next((name for name in ENCODINGS if accepted(name)), None)


class Bundles:
    """The bundles made so far, by digest (for their route) and by file list (built once per list)."""

    def __init__(self, assets_dir: Path) -> None:
        self.assets_dir = assets_dir.resolve()
        self._by_files: dict[tuple, Bundle] = {}
        self._by_digest: dict[str, Bundle] = {}
        self._lock = threading.Lock()

    def bundle(self, suffix: str, urls: Sequence[str]) -> Bundle:
        files = [local_file(url, self.assets_dir) for url in urls]
        key = (suffix, tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
        with self._lock:
            found = self._by_files.get(key)
        if found is None:
            found = build_bundle(suffix, files, self._asset_url)
            with self._lock:
                self._by_files[key] = found
                self._by_digest[found.digest + "." + suffix] = found
        return found

    def _asset_url(self, path: Path) -> str | None:
        """The /assets/ URL of an npm file (None for a file elsewhere)."""
        return ASSETS_PREFIX + str(path.relative_to(self.assets_dir)) if self.assets_dir in path.parents else None

    def get(self, name: str) -> Bundle:
        with self._lock:
            found = self._by_digest.get(name)
        if found is None:
            raise NotFoundError(Text("error", "no such file"))
        return found


def bundle_head(head: str, bundles: Bundles, extra_css: Sequence[str] = (), extra_js: Sequence[str] = (),
                ) -> tuple[str, Bundle, Bundle]:
    """Folium's rendered head without its asset links and viewport tag, and the two bundles that replace them.

    ``extra_css``/``extra_js``: the page's own static files, appended after folium's.
    """
    css = [m["url"] for m in _LINK.finditer(head)] + list(extra_css)
    js = [m["url"] for m in _SCRIPT.finditer(head)] + list(extra_js)
    rest = _VIEWPORT.sub("", _SCRIPT.sub("", _LINK.sub("", head)))
    return rest, bundles.bundle("css", css), bundles.bundle("js", js)
