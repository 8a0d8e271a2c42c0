"""A server on PostGIS answers the OGC API without importing pandas, GDAL, Arrow or pyproj (``geo_service.lazy``):
they took about a second of every start and about 120 MB of every worker (resident). The modules that need them are
imported by the first request that does, and that request is answered as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import quote

from tests.conftest import REPO, postgis_store
from tests.test_tiles import tile_of

HEAVY = ("pandas", "geopandas", "pyogrio", "pyarrow", "pyproj", "folium", "mapbox_vector_tile", "openpyxl")
# A fresh interpreter: what the app and each request import, by name of the heavy modules loaded after it
SCRIPT = """
import json, sys
from geo_service.app import create_app
heavy = {heavy!r}
client = create_app().test_client()
loaded, sizes = {{"start": [m for m in heavy if m in sys.modules]}}, {{}}
for path in {paths!r}:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    loaded[path], sizes[path] = [m for m in heavy if m in sys.modules], len(response.data)
print(json.dumps([loaded, sizes]))
"""


def _loaded(database_url: str, layers_dir, paths: list[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    env = {**os.environ, "GEO_SERVICE_DATABASE_URL": database_url, "GEO_SERVICE_LAYERS_DIR": str(layers_dir)}
    script = SCRIPT.format(heavy=HEAVY, paths=paths)
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_ogc_api_on_postgis_answers_without_pandas_gdal_arrow_or_pyproj(database_url, layers_dir):
    postgis_store(database_url, layers_dir).close()
    cql = quote("country = 'SN' AND population > 1000")
    paths = ["/api/health", "/ogc/", "/ogc/collections", "/ogc/collections/sites",
             "/ogc/collections/sites/items?limit=2", "/ogc/collections/sites/items?bbox=-12.3,14.4,-12.1,14.5",
             f"/ogc/collections/sites/items?filter={cql}&sortby=-population", "/ogc/collections/sites/items/kidira",
             "/ogc/collections/sites/queryables", "/layers/sites.geojson", "/api/layers"]
    loaded, _ = _loaded(database_url, layers_dir, paths)
    assert loaded == {key: [] for key in ["start", *paths]}


def test_what_a_request_needs_is_imported_by_it(database_url, layers_dir):
    """Coordinates in another CRS load pyproj; a point tile the tile encoder (still no pandas: it is drawn from
    the coordinates and SQL rows); the map page folium (which imports pandas), not GDAL; a GeoPackage GDAL."""
    postgis_store(database_url, layers_dir).close()
    mercator = quote("http://www.opengis.net/def/crs/EPSG/0/3857")
    x, y = tile_of(-12.21659, 14.45668, 10)  # Kidira and Diboli
    paths = [f"/ogc/collections/sites/items?crs={mercator}", f"/ogc/collections/sites/tiles/WebMercatorQuad/10/{y}/{x}",
             "/", "/layers/sites.gpkg?bbox=-13,12,-11,15"]  # an extract: never from the session's download cache
    loaded, sizes = _loaded(database_url, layers_dir, paths)
    assert loaded["start"] == [] and loaded[paths[0]] == ["pyproj"]
    assert loaded[paths[1]] == ["pyproj", "mapbox_vector_tile"] and sizes[paths[1]] > 50  # the two points
    assert "folium" in loaded["/"] and not {"geopandas", "pyogrio"} & set(loaded["/"])  # folium brings pandas
    assert {"geopandas", "pyogrio"} <= set(loaded[paths[3]])
