"""PostGIS answers stay of one version while layers are replaced under them: a request that found a version
gets that version's pages and features, or is asked again (another host's writes included)."""

from __future__ import annotations

import json
import shutil

import pytest

from geo_service.app import create_app
from geo_service.errors import LayerUnavailableError, NotFoundError
from geo_service.store.postgis import PostGISStore
from tests.conftest import BUNDLED_LAYERS, postgis_store


def test_a_feature_asked_of_a_replaced_version_is_that_version_s(database_url, tmp_path):
    """A request that found version 1 and asks for a feature after version 2 has landed gets version 1's."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    pg = postgis_store(database_url, folder)
    try:
        first = pg.features("communities")
        feature_id = str(json.loads(first.texts([0])[0])["id"])
        before = json.loads(first.text(feature_id))
        frame = pg.read("communities")
        frame.loc[0, "name"] = "Renamed"
        pg.write("communities", frame, expected_version=first.version)
        assert json.loads(first.text(feature_id)) == before
        assert json.loads(pg.features("communities").text(feature_id))["properties"]["name"] == "Renamed"
        assert before["properties"]["name"] != "Renamed"
    finally:
        pg.close()


def test_a_feature_by_id_follows_every_replace_of_its_layer(database_url, tmp_path):
    """By id, the statement kept from the last version read answers until the layer changes: then the new
    version's feature, even with a column gone from under the prepared statement, or from another host."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    pg, other = postgis_store(database_url, folder), PostGISStore(database_url)
    try:
        source = pg.features("communities")
        feature_id = str(json.loads(source.texts([0])[0])["id"])
        for _ in range(8):  # past psycopg's threshold: the statement is prepared on the connection
            assert json.loads(pg.feature_text("communities", feature_id)) == json.loads(source.text(feature_id))
        frame = pg.read("communities")
        gone = next(name for name in frame.columns if name not in ("id", "name", frame.geometry.name))
        frame = frame.drop(columns=[gone])
        frame.loc[0, "name"] = "Renamed"
        other.write("communities", frame, expected_version=source.version)
        feature = json.loads(pg.feature_text("communities", feature_id))
        assert feature["properties"]["name"] == "Renamed" and gone not in feature["properties"]
        assert json.loads(pg.feature_text("communities", feature_id)) == feature
        frame["added"] = 7  # the kept statement still runs, without the new column: the version tells
        other.write("communities", frame, expected_version=pg.features("communities").version)
        assert json.loads(pg.feature_text("communities", feature_id))["properties"]["added"] == 7
        with pytest.raises(NotFoundError):
            pg.feature_text("communities", "no such feature")
        with pytest.raises(NotFoundError):
            pg.feature_text("no_such_layer", feature_id)
    finally:
        pg.close()
        other.close()


def test_a_page_or_its_texts_never_mix_a_replaced_version_with_the_new(database_url, tmp_path, monkeypatch):
    """The version is read by the page's and the texts' own statements: a page counted on the layer's row
    of a version replaced since is asked again, and texts of that version come from its document."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    pg = postgis_store(database_url, folder)
    try:
        source = pg.features("communities")
        before = source.texts([0, 1])
        stale = pg._row("communities")
        frame = pg.read("communities")
        pg.write("communities", frame.iloc[::-1], expected_version=source.version)  # every position moves
        parsed = [json.loads(text) for text in before]
        assert [json.loads(t) for t in source.texts([0, 1])] == parsed  # the replaced version's, not the new
        assert json.loads(pg.features("communities").texts([len(frame) - 1])[0]) == parsed[0]
        rows, asked = [stale], []
        real = pg._row

        def row_once_stale(layer_id):
            asked.append(layer_id)
            return rows.pop() if rows else real(layer_id)

        monkeypatch.setattr(pg, "_row", row_once_stale)
        box = tuple(frame.total_bounds)
        positions, matched = pg.query_positions("communities", bbox=box, limit=5, offset=0, sortby=())
        assert len(asked) == 2  # the stale row's page was refused, then asked again
        monkeypatch.undo()
        assert (positions.tolist(), matched) == tuple(
            x.tolist() if hasattr(x, "tolist") else x for x in pg.query_positions("communities", bbox=box, limit=5))
    finally:
        pg.close()


def test_a_large_layer_replaced_under_a_request_is_asked_again_not_parsed(database_url, tmp_path):
    """Answering a large layer's replaced version from its document would take seconds and the layer's size in
    memory: the request is refused (503, "try again") instead; a small one is answered from its document."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    pg = postgis_store(database_url, folder, table_min_mb=0.001)  # every bundled layer counts as large
    try:
        snapshot = pg.snapshot("communities")
        box = pg.summary("communities").bounds
        texts, matched = snapshot.page(bbox=box, limit=3)
        frame = pg.read("communities")
        pg.write("communities", frame.iloc[::-1], expected_version=snapshot.version)
        for ask in (lambda: snapshot.page(bbox=box, limit=3), lambda: snapshot.page(limit=3),
                    lambda: snapshot.features().text(json.loads(texts[0])["id"])):
            with pytest.raises(LayerUnavailableError, match="changed while it was being read"):
                ask()
        assert pg._frames == {}  # nothing parsed
        assert pg.snapshot("communities").page(bbox=box, limit=3)[1] == matched  # the new version's
    finally:
        pg.close()


def test_pages_of_the_version_a_host_saw_last_follow_another_host_s_writes(database_url, tmp_path):
    """A host answers a page from the layer's row it read last, checked by the page's own statement (or, for a
    page in its response cache, by the version read): after another host's write, the next page, a cached
    page and a filter on a property added since are all of the new version."""
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    postgis_store(database_url, folder).close()
    client = create_app({"layers_dir": folder, "database_url": database_url}).test_client()
    other = PostGISStore(database_url)
    try:
        def names(query: str) -> list[str]:
            response = client.get(f"/ogc/collections/communities/items?{query}")
            assert response.status_code == 200, response.get_data(as_text=True)
            return [f["properties"]["name"] for f in response.get_json()["features"]]

        bbox = ",".join(map(str, other.summary("communities").bounds))
        pages = [f"bbox={bbox}&limit=3", "limit=3", "limit=3&offset=2"]
        before = {page: names(page) for page in pages}
        assert client.get("/ogc/collections/communities/items?added=7").status_code == 400
        frame = other.read("communities")
        frame["name"] = [f"Renamed {i}" for i in range(len(frame))]
        frame["added"] = 7
        other.write("communities", frame, expected_version=other.features("communities").version)
        assert len(names("added=7&limit=100")) == len(frame)  # refused by the version seen last: asked again
        other.write("communities", frame.iloc[1:], expected_version=other.features("communities").version)
        for page in pages:  # each in this host's response cache, of the version it saw
            assert names(page) != before[page] and all(name.startswith("Renamed") for name in names(page))
        assert names(f"bbox={bbox}&limit=4") == [f"Renamed {i}" for i in range(1, 5)]  # a new page
        other.write("communities", frame.iloc[::-1], expected_version=other.features("communities").version)
        assert names("limit=2&offset=1") == [f"Renamed {len(frame) - 2}", f"Renamed {len(frame) - 3}"]  # plain
    finally:
        other.close()
