"""Point tiles on PostGIS (store/postgis/points): the files backend's bytes, from coordinates kept on the host."""

from __future__ import annotations

import shutil

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import psycopg
import pytest
from shapely.geometry import MultiPoint, Point

from geo_service.store import LayerStore
from geo_service.store.postgis import points as postgis_points
from geo_service.store.postgis import PostGISStore
from geo_service.store.postgis.write import spatial_order
from tests.conftest import BUNDLED_LAYERS, catalogue_entry, postgis_store
from tests.test_tiles import tile_of

TILES = [(z, *tile_of(-12.2, 14.45, z)) for z in (4, 8, 12, 14)] + [(12, tile_of(-12.2, 14.45, 12)[0] + 1,
                                                                        tile_of(-12.2, 14.45, 12)[1])]


def _dense(count: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame({"id": [f"p{i}" for i in range(count)], "name": [f"n{i}" for i in range(count)],
                             "other": np.arange(count)},
                            geometry=gpd.points_from_xy(rng.uniform(-12.4, -12.0, count).round(5),
                                                        rng.uniform(14.2, 14.6, count).round(5)), crs="EPSG:4326")


def _layers(folder) -> LayerStore:
    """The bundled layers, a dense point layer (thinned at low zooms), one named by whole numbers with a gap
    and French names missing (integers stay integers in the tile), and one with a multi-point among its points
    (drawn by ST_AsMVT)."""
    shutil.copytree(BUNDLED_LAYERS, folder, ignore=shutil.ignore_patterns(".*"))
    files = LayerStore(folder)
    files.add_layer(catalogue_entry("dense", "Point"), _dense(9000, 7))
    numbered = gpd.GeoDataFrame({"id": ["a", "b", "c", "d"], "name": pd.array([10, None, 12, 13], dtype="Int64"),
                                 "name_fr": [None, "Bé", None, "d"]},
                                geometry=[Point(-12.21, 14.45), Point(-12.2, 14.46), Point(-12.19, 14.44),
                                          Point(-12.2, 14.45)], crs="EPSG:4326")
    files.add_layer(catalogue_entry("numbered", "Point"), numbered)
    mixed = _dense(50, 3)
    mixed.loc[5, "geometry"] = MultiPoint([(-12.3, 14.3), (-12.31, 14.31)])
    files.add_layer(catalogue_entry("mixed", "Point"), mixed)
    return files


def _ids(tile: bytes, layer_id: str) -> list[str]:
    features = mapbox_vector_tile.decode(tile).get(layer_id, {"features": []})["features"]
    return sorted(str(f["properties"].get("id")) for f in features)


def test_point_tiles_are_the_files_backends_on_the_writing_host_and_on_another(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(postgis_points, "_PAGES", 8)  # host B reads the dense layer's pages in ranges
    monkeypatch.setattr(postgis_points, "_RANGE", 1000)  # and writes its file in nine parts
    files = _layers(tmp_path / "layers")
    writer = postgis_store(database_url, tmp_path / "layers", points_dir=tmp_path / "a")  # db init on host A
    other = PostGISStore(database_url, points_dir=tmp_path / "b")  # host B reads the coordinates from the table
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:  # rows moved in the heap: a scan is not in
            conn.execute("UPDATE geo_layers.dense SET name = name WHERE __pos % 7 = 0")  # the layer's order
        written = {p.name for p in (tmp_path / "a").glob("points-*.f8")}
        assert any(name.startswith("points-dense-") for name in written)  # kept as the layer was written
        assert not any(name.startswith("points-mixed-") for name in written)  # not all points: not kept
        for layer_id in files.catalogue.ids:
            points = layer_id != "mixed" and files.catalogue.get(layer_id).geometry_type == "Point"
            for key in TILES:
                expected = files.tile(layer_id, *key)
                for store in (writer, other):
                    if points:
                        assert store.tile(layer_id, *key) == expected, (layer_id, key)  # byte for byte
                    else:
                        assert _ids(store.tile(layer_id, *key), layer_id) == _ids(expected, layer_id), (layer_id, key)
        numbered = mapbox_vector_tile.decode(other.tile("numbered", *TILES[2]))["numbered"]["features"]
        assert sorted(f["properties"].get("name", -1) for f in numbered) == [-1, 10, 12, 13]  # ints, the gap left out
        for name in written:  # host B's coordinates, read from the table, are those host A kept from the layer
            assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes()
        mixed = [p for p in (tmp_path / "b").glob("points-mixed-*.f8")]
        assert len(mixed) == 1 and mixed[0].stat().st_size == 0  # recorded as drawn by ST_AsMVT
    finally:
        writer.close()
        other.close()


def test_rows_are_stored_in_map_order_and_answered_in_the_layer_s(database_url, tmp_path):
    files = _layers(tmp_path / "layers")
    pg = postgis_store(database_url, tmp_path / "layers")
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            stored = [r[0] for r in conn.execute("SELECT __pos FROM geo_layers.dense ORDER BY ctid")]
        assert stored == spatial_order(files.read("dense").geometry).tolist() and stored != sorted(stored)
        box = (-12.3, 14.3, -12.25, 14.35)
        positions, matched = pg.query_positions("dense", bbox=box, limit=20, offset=3)
        expected, count = files.query_positions("dense", bbox=box, limit=20, offset=3)
        assert positions.tolist() == expected.tolist() and matched == count > 23
        assert pg.read("dense").equals(files.read("dense"))  # the whole layer, in its order
    finally:
        pg.close()


def test_a_replaced_layer_is_drawn_from_its_new_coordinates_on_every_host(database_url, tmp_path):
    files = _layers(tmp_path / "layers")
    writer = postgis_store(database_url, tmp_path / "layers", points_dir=tmp_path / "a")
    other = PostGISStore(database_url, points_dir=tmp_path / "b")
    try:
        before = other.tile("dense", *TILES[2])
        moved = _dense(9000, 8)
        writer.replace("dense", moved)
        files.replace("dense", moved)
        after = files.tile("dense", *TILES[2])
        assert after != before
        assert other.tile("dense", *TILES[2]) == after and writer.tile("dense", *TILES[2]) == after
    finally:
        writer.close()
        other.close()


@pytest.mark.parametrize("where", ["a file", "nothing"])
def test_without_a_usable_cache_folder_postgis_draws_the_tile(database_url, tmp_path, where, caplog):
    files = _layers(tmp_path / "layers")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    points_dir = blocked / "points" if where == "a file" else None
    pg = postgis_store(database_url, tmp_path / "layers", points_dir=points_dir)
    try:
        caplog.clear()
        tile = pg.tile("dense", *TILES[1])
        expected = _ids(files.tile("dense", *TILES[1]), "dense")
        # ST_AsMVT thins on cells of whole tile units: the same budget, nearly the same points
        assert abs(len(_ids(tile, "dense")) - len(expected)) <= max(2, 0.05 * len(expected))
        for key in TILES:
            assert pg.tile("dense", *key)
        unusable = [r for r in caplog.records if "unusable" in r.getMessage()]
        assert len(unusable) == (1 if where == "a file" else 0)  # said once, not at every tile
    finally:
        pg.close()
