"""The PostGIS backend against a real PostgreSQL/PostGIS: set-up and export, SQL that agrees with the files
backend, the layers as tables GIS clients read, errors when the database is gone, and several hosts at once.

The behaviour both backends share is in test_store_contract.py; the app-level suite runs on PostGIS with
``pytest --store=postgis``.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import threading
import urllib.request

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
from shapely.geometry import Point

from click.testing import CliRunner

from geo_service.app import create_app
from geo_service.errors import NotFoundError
from geo_service.cli import main as cli_main
from geo_service.store import LayerStore
from geo_service.store.postgis import PostGISStore
from geo_service.tiles import MAX_TILE_POINTS
from tests.conftest import BUNDLED_LAYERS, assert_error_document, catalogue_entry, postgis_store, write_layers
from tests.production import production_server
from tests.test_production_hostile import put_raw

TOKEN = "a-long-test-token-0123456789"


@pytest.fixture
def pg(database_url, tmp_path):
    store = postgis_store(database_url, write_layers(tmp_path / "layers"))
    yield store
    store.close()


def cli(*args: str):
    return CliRunner().invoke(cli_main, list(args), catch_exceptions=False)


def test_db_init_loads_the_bundled_layers_with_their_versions_and_export_gives_them_back(database_url, tmp_path):
    bundled = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, bundled, ignore=shutil.ignore_patterns(".*"))
    files = LayerStore(bundled)
    first = "health_centres"  # one layer with a history entry
    files.write(first, files.read(first).iloc[:1])
    assert len(files.history(first)) == 1
    init = cli("--database-url", database_url, "db", "init", "--from", str(bundled))
    assert init.exit_code == 0, init.output
    assert init.output.count("loaded ") == len(files.catalogue.ids)
    again = cli("--database-url", database_url, "db", "init", "--from", str(bundled))
    assert again.output.count("kept ") == len(files.catalogue.ids)  # idempotent: nothing loaded twice

    store = PostGISStore(database_url)
    try:
        for layer_id in files.catalogue.ids:  # the same bytes, so the same versions (ETags) on both backends
            assert store.version(layer_id) == files.version(layer_id)
            assert store.file_bytes(layer_id) == files.file_bytes(layer_id)
        assert [(v.version, v.pinned) for v in store.history(first)] == \
               [(v.version, v.pinned) for v in files.history(first)]
    finally:
        store.close()

    out = tmp_path / "exported"
    exported = cli("--database-url", database_url, "db", "export", str(out))
    assert exported.exit_code == 0, exported.output
    back = LayerStore(out)
    assert back.catalogue == files.catalogue
    for layer_id in files.catalogue.ids:
        assert back.file_bytes(layer_id) == files.file_bytes(layer_id)
    assert [v.version for v in back.history(first)] == [v.version for v in files.history(first)]
    refused = cli("--database-url", database_url, "db", "export", str(out))
    assert refused.exit_code != 0 and "not empty" in refused.output


def _typed_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": [f"f{i}" for i in range(8)],
        "count": [1, 2, 2, None, 10, 0, -3, 2],
        "share": [0.5, 1.0, np.nan, 2.0, 1.5, 0.0, -0.0, 1.0],
        "open": [True, False, True, True, False, False, True, True],
        "name": ["Kayes", "kayes", "Kédougou", None, "", "1", "2.0", "Kayes"],
    }, geometry=[Point(-12 + i * 0.1, 14 + i * 0.05) for i in range(8)], crs="EPSG:4326")


@pytest.mark.parametrize("name", ["count", "share", "open", "name", "id"])
def test_filters_and_pages_in_sql_answer_as_the_files_backend_does(pg, tmp_path, name):
    files = LayerStore(write_layers(tmp_path / "files"))
    frame = _typed_layer()
    files.add_layer(catalogue_entry("typed", "Point"), frame)
    pg.add_layer(catalogue_entry("typed", "Point"), frame)
    assert pg.version("typed") == files.version("typed")
    values = ["1", "2", "2.0", "1.0", "0", "-0", "nan", "inf", "True", "False", "true", "Kayes", "kayes", "",
              "Kédougou", "f3", "x"]
    for value in values:
        for bbox in (None, (-11.8, 14.0, -11.0, 15.0)):
            for limit, offset in ((None, 0), (2, 1), (0, 0), (5, 7)):
                args = dict(filters={name: value}, bbox=bbox, limit=limit, offset=offset)
                expected = files.query_positions("typed", **args)
                got = pg.query_positions("typed", **args)
                assert (list(got[0]), got[1]) == (list(expected[0]), expected[1]), args


def test_a_page_is_answered_in_sql_without_loading_the_layer(pg):
    positions, matched = pg.query_positions("sites", bbox=(-12.3, 14.4, -12.1, 14.5), filters={"country": "SN"})
    assert (list(positions), matched) == ([0], 1)
    assert pg._frames == {}  # nothing parsed in this process
    with pytest.raises(Exception, match="unknown property"):
        pg.query_positions("sites", filters={"nope": "1"})


def test_layers_are_typed_indexed_tables_that_gis_clients_read(pg, database_url):
    with psycopg.connect(database_url) as conn:
        columns = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_schema = 'geo_layers' AND table_name = 'sites'").fetchall())
        assert columns["population"] == "bigint" and columns["name"] == "text"
        assert columns["geom"] == "USER-DEFINED"
        (srid,) = conn.execute("SELECT Find_SRID('geo_layers', 'sites', 'geom')").fetchone()
        assert srid == 4326
        indexes = " ".join(r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'sites'"))
        assert "USING gist (geom)" in indexes
    # GDAL's own client (Debian's ogrinfo/ogr2ogr), as QGIS reads a PostGIS table
    info = subprocess.run(["ogrinfo", "-ro", "-so", f"PG:{_libpq(database_url)}", "geo_layers.sites"],
                          capture_output=True, text=True, check=True).stdout
    assert "population: Integer64" in info and "Feature Count: 4" in info and "EPSG" in info
    copied = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"PG:{_libpq(database_url)}",
                             "geo_layers.sites"], capture_output=True, text=True, check=True).stdout
    names = [f["properties"]["name"] for f in json.loads(copied)["features"]]
    assert sorted(names) == sorted(pg.read("sites")["name"])


def _libpq(url: str) -> str:
    rest = url.removeprefix("postgresql://")
    user, _, rest = rest.partition("@")
    hostport, _, dbname = rest.partition("/")
    host, _, port = hostport.partition(":")
    return f"dbname={dbname} host={host} port={port} user={user}"


def test_an_unreachable_database_answers_503_without_its_address(database_url, tmp_path, pg_cluster):
    store = postgis_store(database_url, write_layers(tmp_path / "layers"))
    store.close()
    app = create_app({"layers_dir": tmp_path / "layers", "database_url": database_url})
    client = app.test_client()
    assert client.get("/ogc/collections/sites/items").status_code == 200
    pg_cluster.drop_database(database_url)  # the database is gone (its connections too)
    for path in ("/ogc/collections/sites/items", "/api/layers/sites", "/layers/sites.geojson", "/", "/api/health"):
        response = client.get(path, headers={"Accept": "application/json"})
        document = assert_error_document(response, 503)
        assert str(pg_cluster.port) not in document["description"] and "127.0.0.1" not in document["description"]
    app.extensions["geo_service.store"].close()


def test_a_database_without_the_schema_is_a_clear_error_at_start(database_url, tmp_path):
    from geo_service.errors import ConfigError

    with pytest.raises(ConfigError, match="db init"):
        PostGISStore(database_url)


def _etag(server, layer_id: str) -> str:
    with urllib.request.urlopen(f"{server.url}/api/layers/{layer_id}", timeout=30) as response:
        return response.headers["ETag"]


def _points(*names: str) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": n, "name": n}, "geometry": {"type": "Point", "coordinates": [-12.2, 14.4]}}
        for n in names]}).encode()


def test_two_hosts_on_one_database_see_each_others_writes_and_lose_no_update(pg, database_url, tmp_path):
    env = {"GEO_SERVICE_DATABASE_URL": database_url, "GEO_SERVICE_TOKEN": TOKEN}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with production_server(tmp_path / "layers", workers=2, **env) as one, \
            production_server(tmp_path / "layers", workers=2, **env) as two:
        assert _etag(one, "sites") == _etag(two, "sites")
        status, _ = put_raw(f"{one.url}/api/layers/sites?filename=a.geojson", _points("a"),
                            {**auth, "If-Match": _etag(one, "sites")})
        assert status == 200
        items = json.loads(two.get("/ogc/collections/sites/items")[1])  # at once, through the other host
        assert [f["id"] for f in items["features"]] == ["a"]
        assert _etag(two, "sites") == _etag(one, "sites")

        for round_ in range(3):  # both hosts write from the same version at once: exactly one wins
            version = _etag(one, "sites")
            barrier, answers = threading.Barrier(4), []

            def write(server, name):
                barrier.wait()
                answers.append((name, *put_raw(f"{server.url}/api/layers/sites?filename=x.geojson",
                                               _points(name), {**auth, "If-Match": version})))

            threads = [threading.Thread(target=write, args=(server, f"{server_name}{round_}{i}"))
                       for i in range(2) for server, server_name in ((one, "one"), (two, "two"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            statuses = sorted(status for _, status, _ in answers)
            assert statuses == [200, 412, 412, 412], answers
            winner = next(name for name, status, _ in answers if status == 200)
            for server in (one, two):
                items = json.loads(server.get("/ogc/collections/sites/items")[1])
                assert [f["id"] for f in items["features"]] == [winner]
        store = PostGISStore(database_url)
        history = store.history("sites")
        store.close()
        assert len(history) == 4 and history[-1].pinned  # every replaced version kept, the original pinned


def _same_features(files_store, pg_store, layer_id: str) -> None:
    count = files_store.summary(layer_id).feature_count
    ours, theirs = files_store.features(layer_id), pg_store.features(layer_id)
    assert ours.version == theirs.version
    positions = list(range(count))[::-1]  # in any order asked
    assert [json.loads(t) for t in theirs.texts(positions)] == [json.loads(t) for t in ours.texts(positions)]
    for position in (0, count - 1):
        feature_id = str(json.loads(ours.texts([position])[0])["id"])
        assert theirs.position(feature_id) == ours.position(feature_id) == position
        assert json.loads(theirs.text(feature_id)) == json.loads(ours.text(feature_id))  # one statement
    for missing in ("0", "01", str(count + 1), "x", "1.0", "٣"):
        for source in (ours, theirs):
            with pytest.raises(NotFoundError):
                source.position(missing)
            with pytest.raises(NotFoundError):
                source.text(missing)


def test_features_written_by_postgis_are_those_the_files_backend_sends(database_url, tmp_path):
    """Every bundled layer, and layers without usable ids (numbered from 1), read feature by feature in SQL."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    files = LayerStore(folder)
    frame = _typed_layer()
    files.add_layer(catalogue_entry("no_ids", "Point"), frame.assign(id=["", *frame["id"][1:]]))  # an id of empty text
    files.add_layer(catalogue_entry("bare", "Point"), frame.drop(columns="id"))
    pg = postgis_store(database_url, folder)
    try:
        for layer_id in files.catalogue.ids:
            _same_features(files, pg, layer_id)
        assert pg._frames == {}  # no layer was parsed whole in this process
    finally:
        pg.close()


def test_documents_are_stored_compressed_with_lz4(database_url, tmp_path):
    """Debian's PostgreSQL has LZ4: `db init` makes the document parts use it (four times faster than pglz)."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    postgis_store(database_url, folder).close()
    with psycopg.connect(database_url) as conn:
        methods = {r[0] for r in conn.execute("SELECT pg_column_compression(bytes) FROM geo_service.document_parts")}
    assert "lz4" in methods and methods <= {"lz4", None}  # None: a part too small to compress


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_tiles_drawn_by_postgis_hold_what_the_files_backend_draws(database_url, tmp_path):
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    files = LayerStore(folder)
    rng = np.random.default_rng(7)
    count = 9000  # dense enough that a z5 tile is thinned
    dense = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(count)], "name": [f"n{i}" for i in range(count)]},
                             geometry=gpd.points_from_xy(rng.uniform(-12.4, -12.0, count),
                                                         rng.uniform(14.2, 14.6, count)), crs="EPSG:4326")
    files.add_layer(catalogue_entry("dense", "Point"), dense)
    pg = postgis_store(database_url, folder)
    try:
        for layer_id in files.catalogue.ids:
            for z in (4, 8, 12):
                x, y = _tile_xy(-12.2, 14.45, z)
                ours = mapbox_vector_tile.decode(files.tile(layer_id, z, x, y)).get(layer_id, {"features": []})
                theirs = mapbox_vector_tile.decode(pg.tile(layer_id, z, x, y)).get(layer_id, {"features": []})
                ids = [sorted(str(f["properties"].get("id")) for f in t["features"]) for t in (ours, theirs)]
                if files.catalogue.get(layer_id).geometry_type != "Point":
                    assert ids[0] == ids[1], (layer_id, z)  # the same features, with their names
                else:  # points thinned on a grid: the same budget, nearly the same points (PostGIS puts them in
                    # cells from whole tile units, the files backend from exact ones)
                    assert len(ids[1]) <= MAX_TILE_POINTS, (layer_id, z)
                    assert abs(len(ids[1]) - len(ids[0])) <= max(2, 0.05 * len(ids[0])), (layer_id, z)
                    assert set(ids[1]) <= set(map(str, files.read(layer_id)["id"])), (layer_id, z)
        x, y = _tile_xy(-12.2, 14.45, 4)
        assert len(mapbox_vector_tile.decode(files.tile("dense", 4, x, y))["dense"]["features"]) < count  # thinned
        assert pg._frames == {}
    finally:
        pg.close()


def test_plain_pages_are_the_files_backends(pg, tmp_path):
    files = LayerStore(write_layers(tmp_path / "files"))
    for limit, offset in ((None, 0), (None, 3), (2, 0), (2, 3), (0, 1), (10, 4), (10, 99)):
        expected = files.query_positions("sites", limit=limit, offset=offset)
        got = pg.query_positions("sites", limit=limit, offset=offset)
        assert (list(got[0]), got[1]) == (list(expected[0]), expected[1]), (limit, offset)


@pytest.mark.parametrize("pool", [2, 5])
def test_a_worker_holds_at_most_the_connections_its_setting_allows(database_url, tmp_path, pool):
    """GEO_SERVICE_DATABASE_POOL bounds each worker's connections (size max_connections by it): six threads
    wanting a connection at once share the pool's."""
    from geo_service.config import Settings
    from geo_service.store import open_store

    postgis_store(database_url, write_layers(tmp_path / "layers")).close()
    store = open_store(Settings(database_url=database_url, database_pool=pool))
    inside, release, most = threading.Semaphore(0), threading.Event(), []

    def hold() -> None:
        with store.connection() as conn:
            conn.execute("select 1")
            inside.release()
            release.wait(30)

    def connections() -> int:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            return watcher.execute("select count(*) from pg_stat_activity where datname = current_database() "
                                   "and pid <> pg_backend_pid() and backend_type = 'client backend'").fetchone()[0]

    def waiting() -> int:
        pooled = store._connections._pool if store._connections is not None else None
        return pooled.get_stats().get("requests_waiting", 0) if pooled is not None else 0

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(pool):  # as many as the pool allows get in ...
            assert inside.acquire(timeout=30)
        for _ in range(300):  # ... and the others wait for one of them (waited for, not timed)
            if waiting() == 6 - pool:
                break
            release.wait(0.1)
        assert waiting() == 6 - pool
        most.append(connections())
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
        store.close()
    assert most == [pool]


def test_a_command_holds_one_connection_and_starts_no_thread(database_url, tmp_path):
    """A command's store (``open_store(command=True)``) connects once, without a pool's threads (so a large
    import may fork: ``forked``); a use inside another gets its own connection, outside the other's
    transaction."""
    from geo_service.config import Settings
    from geo_service.store import open_store

    postgis_store(database_url, write_layers(tmp_path / "layers")).close()
    threads = threading.active_count()
    store = open_store(Settings(database_url=database_url), command=True)
    try:
        assert store.current_version("sites")
        with store.connection() as outer:
            first = outer.execute("select pg_backend_pid() as pid").fetchone()["pid"]
        with store.connection() as outer, outer.transaction():
            assert outer.execute("select pg_backend_pid() as pid").fetchone()["pid"] == first
            outer.execute("create table seen_inside (x int)")
            with store.connection() as inner:
                assert inner.execute("select pg_backend_pid() as pid").fetchone()["pid"] != first
                assert inner.execute("select to_regclass('seen_inside') as t").fetchone()["t"] is None
            outer.execute("drop table seen_inside")
        assert threading.active_count() == threads
    finally:
        store.close()
