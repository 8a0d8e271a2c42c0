"""The PostGIS backend's documents in parts: read back whole, read one part at a time, pruned with their version,
and a schema-1 database refused at start until ``db init`` has moved its whole documents into parts."""

from __future__ import annotations

import psycopg
import pytest

from geo_service.errors import ConfigError, LayerUnavailableError
from geo_service.store.postgis import documents as postgis_documents
from geo_service.store.fileops import digest
from geo_service.store.postgis import PostGISStore
from tests.conftest import postgis_store, write_layers

PART = 200  # bytes: the test layers' documents take several parts


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(postgis_documents, "PART_BYTES", PART)


def _parts(url: str, layer_id: str) -> dict[str, list[int]]:
    """Each stored version's part sizes, in order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version, octet_length(bytes) FROM geo_service.document_parts "
                            "WHERE layer_id = %s ORDER BY version, part", (layer_id,)).fetchall()
    sizes: dict[str, list[int]] = {}
    for version, size in rows:
        sizes.setdefault(version, []).append(size)
    return sizes


def test_a_document_is_stored_in_parts_and_read_back_one_part_at_a_time(database_url, tmp_path, small_parts):
    store = postgis_store(database_url, write_layers(tmp_path / "layers"))
    try:
        version = store.version("sites")
        data = store.file_bytes("sites")
        assert digest(data) == version and len(data) > 3 * PART
        chunks = list(store.document_chunks("sites", version))
        assert b"".join(chunks) == data
        assert [len(c) for c in chunks] == [PART] * (len(data) // PART) + [len(data) % PART]
        assert _parts(database_url, "sites") == {version: [len(c) for c in chunks]}
    finally:
        store.close()


def test_parts_go_with_their_version_when_the_history_is_pruned(database_url, tmp_path, small_parts):
    store = postgis_store(database_url, write_layers(tmp_path / "layers"), history_keep=1)
    try:
        first = store.version("sites")
        frame = store.read("sites")
        versions = [first]
        for count in (3, 2):  # two replacements: the first is pinned, the newest saved one kept, none other
            versions.append(store.write("sites", frame.iloc[:count])[0])
        assert [v.version for v in store.history("sites")] == [versions[1], first]
        assert set(_parts(database_url, "sites")) == set(versions)
        versions.append(store.write("sites", frame.iloc[:1])[0])  # versions[1] leaves the history
        assert set(_parts(database_url, "sites")) == {first, versions[2], versions[3]}
        store.rollback("sites", first)  # a stored version made current again: its parts are not stored twice
        assert store.file_bytes("sites") == b"".join(store.document_chunks("sites", first))
        assert digest(store.file_bytes("sites")) == first
    finally:
        store.close()


def test_a_version_removed_while_read_is_a_clear_error(database_url, tmp_path, small_parts):
    store = postgis_store(database_url, write_layers(tmp_path / "layers"))
    try:
        version = store.version("sites")
        chunks = store.document_chunks("sites", version)
        next(chunks)
        with psycopg.connect(database_url) as conn:  # as a prune by another host would
            conn.execute("DELETE FROM geo_service.document_parts WHERE layer_id = 'sites' AND part > 0")
        with pytest.raises(LayerUnavailableError, match="changed while it was being read"):
            list(chunks)
    finally:
        store.close()


def _as_schema_1(url: str) -> None:
    """Put the database back as schema 1 wrote it: each document whole in its row, no parts."""
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE geo_service.documents d SET document = (SELECT string_agg(p.bytes, ''::bytea "
                     "ORDER BY p.part) FROM geo_service.document_parts p WHERE p.layer_id = d.layer_id "
                     "AND p.version = d.version)")
        conn.execute("DELETE FROM geo_service.document_parts")
        conn.execute("UPDATE geo_service.layers SET dtypes = NULL")
        conn.execute("UPDATE geo_service.state SET schema_version = 1")


def test_a_schema_1_database_is_refused_until_db_init_moves_its_documents_into_parts(database_url, tmp_path,
                                                                                 small_parts):
    layers = write_layers(tmp_path / "layers")
    store = postgis_store(database_url, layers)
    expected = {layer_id: (store.version(layer_id), store.file_bytes(layer_id)) for layer_id in store.catalogue.ids}
    store.close()
    _as_schema_1(database_url)
    assert _parts(database_url, "sites") == {}

    with pytest.raises(ConfigError, match="earlier release .* run `geo-service db init` once"):
        PostGISStore(database_url)  # a new release on a database the old one wrote: told what to do, at start

    PostGISStore(database_url, create=True).close()  # what `db init` does first
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM geo_service.documents WHERE document IS NOT NULL").fetchone()[0] == 0
        assert conn.execute("SELECT schema_version FROM geo_service.state").fetchone()[0] == 2
        assert dict(conn.execute("SELECT id, dtypes FROM geo_service.layers").fetchall())["sites"] == \
            ["str", "str", "str", "Int64", "str", "str"]  # recorded from one parse: read from the table again
    moved = PostGISStore(database_url)
    try:
        for layer_id, (version, data) in expected.items():
            assert moved.file_bytes(layer_id) == data
            assert list(_parts(database_url, layer_id)) == [version]
        assert max(max(sizes) for sizes in _parts(database_url, "sites").values()) == PART
    finally:
        moved.close()


def test_a_database_of_a_newer_release_is_refused(database_url, tmp_path):
    postgis_store(database_url, write_layers(tmp_path / "layers")).close()
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE geo_service.state SET schema_version = schema_version + 1")
    for create in (False, True):
        with pytest.raises(ConfigError, match="newer release"):
            PostGISStore(database_url, create=create)



def test_db_init_holds_a_layer_to_the_servers_size_limit(database_url, tmp_path):
    """GEO_SERVICE_MAX_LAYER_MB holds for the folder `db init` reads, as for the layers it serves: a national
    layer over the default 512 MB loads once the limit is raised (here 1 and 2 MB against a 1.5 MB layer)."""
    from click.testing import CliRunner

    from geo_service.cli import main as cli_main
    from tests.conftest import feature, point

    places = [feature(f"p{i}", point(-12 + i / 10**4, 14.2), name=f"Place {i}", note="x" * 100) for i in range(5500)]
    layers = write_layers(tmp_path / "layers", {"places": ("Point", places)})
    assert 2**20 < (layers / "places.geojson").stat().st_size < 2 * 2**20
    args = ["--database-url", database_url, "db", "init", "--from", str(layers)]
    refused = CliRunner().invoke(cli_main, args, env={"GEO_SERVICE_MAX_LAYER_MB": "1"})
    assert refused.exit_code != 0 and "over the 1 MB" in refused.output, refused.output
    loaded = CliRunner().invoke(cli_main, args, env={"GEO_SERVICE_MAX_LAYER_MB": "2"})
    assert loaded.exit_code == 0 and "loaded places" in loaded.output, loaded.output
    store = PostGISStore(database_url, max_layer_mb=2)
    try:
        assert store.summary("places").feature_count == 5500
    finally:
        store.close()
