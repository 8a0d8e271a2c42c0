"""Full-layer downloads are built once per layer version and streamed from disk (resumable, gzipped for text)."""

from __future__ import annotations

import gzip

from geo_service.io import formats
from geo_service.store.downloads import DownloadCache


def test_a_download_is_built_once_per_version_and_then_streamed(layers_dir, tmp_path, monkeypatch, make_app):
    builds = []
    real_write = formats.write
    monkeypatch.setattr(formats, "write", lambda *a, **k: builds.append(a[2]) or real_write(*a, **k))
    client = make_app({"downloads_dir": tmp_path / "dl"}).test_client()
    first = client.get("/layers/sites.csv")
    again = client.get("/layers/sites.csv", headers={"Accept-Encoding": "gzip"})
    assert builds == ["csv"] and first.status_code == again.status_code == 200
    assert again.headers["Content-Encoding"] == "gzip" and gzip.decompress(again.data) == first.data
    assert first.headers["ETag"] != again.headers["ETag"]  # two representations, two tags
    part = client.get("/layers/sites.csv", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == first.data[10:20]  # an interrupted download resumes
    assert client.get("/layers/sites.csv", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    client.get("/layers/sites.csv?bbox=-13,14,-12,15")  # an extract is built in memory, not kept
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "dl").glob("*") if not p.name.startswith(".")) == [
        "sites", "sites"]


def test_the_geojson_download_is_the_stored_document(open_test_store, tmp_path, make_app):
    """No re-writing of a whole layer: the RFC 7946 document the store keeps is sent as it is (integers as
    integers, the same bytes on both backends)."""
    client = make_app({"downloads_dir": tmp_path / "dl"}).test_client()
    body = client.get("/layers/sites.geojson").data
    assert body == open_test_store().file_bytes("sites")
    assert '"population": 13551,' in body.decode() or '"population":13551,' in body.decode()


def test_a_new_version_gets_a_new_file(layers_dir, tmp_path, make_app):
    app = make_app({"downloads_dir": tmp_path / "dl"})
    client = app.test_client()
    before = client.get("/layers/sites.csv").data
    store = app.extensions["geo_service.store"]
    store.write("sites", store.read("sites").iloc[:2])
    after = client.get("/layers/sites.csv").data
    assert after != before and after.count(b"\n") == 3  # header and two rows


def test_the_folder_keeps_to_its_size_least_recently_used_first(tmp_path):
    cache = DownloadCache(tmp_path / "dl", max_bytes=2500)
    for name in ("a", "b", "c"):
        cache.get(f"{name}.gpkg", lambda: b"x" * 1000, gzip_too=False)
    assert sorted(p.name for p in (tmp_path / "dl").glob("*.gpkg")) == ["b.gpkg", "c.gpkg"]


def test_no_usable_folder_means_answers_from_memory(layers_dir, tmp_path, make_app):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    client = make_app({"downloads_dir": blocker / "dl"}).test_client()
    response = client.get("/layers/sites.geojson")
    assert response.status_code == 200 and b"Kidira" in response.data


def test_a_large_download_is_streamed_from_the_file(layers_dir, tmp_path, monkeypatch, make_app):
    from geo_service.web import downloads

    monkeypatch.setattr(downloads, "STREAM_ABOVE_BYTES", 0)
    client = make_app({"downloads_dir": tmp_path / "dl"}).test_client()
    response = client.get("/layers/sites.gpkg")
    assert response.is_streamed and response.data[:16] == b"SQLite format 3\x00"
    response.close()
    ranged = client.get("/layers/sites.gpkg", headers={"Range": "bytes=0-15"})
    assert ranged.status_code == 206 and ranged.data == b"SQLite format 3\x00"
    ranged.close()
