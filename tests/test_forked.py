"""A large import's later features read and written by a forked child give what a sequential read or write
gives: the same frame, the same bytes, the same refusal, whether the child's part fits or not.

The cases run in a fresh interpreter (one thread, as a command is: ``forked.available``), with the sizes at
which the child takes part lowered so that small documents use it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

CASES = ["plain", "sparse_later", "id_missing_later", "line_later", "over_limit", "geometry_lines", "whole_ids",
         "text_id_later", "write", "write_whole_ids", "write_child_fails", "no_memory"]  # no_memory last: it stays


def _document(rows: int, change=None, geometry_lines=False, whole_ids=False) -> bytes:
    features = [{"type": "Feature", "id": i * 3 if whole_ids else f"p{i}",
                 "properties": {"name": f"Point {i}", "n": i, "share": i / 7, "ok": i % 2 == 0,
                                "note": None if i % 5 else "x"},
                 "geometry": {"type": "Point", "coordinates": [-11 - i / 1e4, 14 + i / 3e4]}} for i in range(rows)]
    if change:
        change(features[rows * 3 // 4])
    if geometry_lines:  # features one after another on a line, each geometry on a line of its own
        return ('{"type": "FeatureCollection", "features": [' + ", ".join(
            json.dumps(f).replace('"geometry": {', '"geometry":\n{') for f in features) + "]}").encode()
    return ('{\n"type": "FeatureCollection",\n"features": [\n'
            + ",\n".join(json.dumps(f, ensure_ascii=False) for f in features) + "\n]\n}\n").encode()


def _read_case(case: str) -> dict:
    from geo_service import forked
    from geo_service.config import InputLimits
    from geo_service.errors import GeoServiceError
    from geo_service.io import geojson_stream
    from tests.test_geojson_stream import assert_same

    changes = {"sparse_later": lambda f: f["properties"].update(extra=1),
               "id_missing_later": lambda f: f.pop("id"),
               "line_later": lambda f: f.update(geometry={"type": "LineString",
                                                          "coordinates": [[-11, 14], [-11.1, 14.1]]}),
               "text_id_later": lambda f: f.update(id="p1")}
    data = _document(4000, changes.get(case), geometry_lines=case == "geometry_lines",
                     whole_ids=case in ("whole_ids", "text_id_later"))
    limits = InputLimits(features=3500) if case == "over_limit" else None
    if case == "no_memory":
        forked._free_memory = lambda: 1000  # 1,000 bytes free: less than the child would need
    joined = []
    join = geojson_stream._Reader._join
    geojson_stream._Reader._join = lambda self, part: joined.append(join(self, part)) or joined[-1]

    def read(split: bool):
        geojson_stream.SPLIT_CHARS = 1000 if split else 10**12
        try:
            return geojson_stream.read_plain(data, "x.geojson", limits)
        except GeoServiceError as exc:
            return str(exc)

    before = forked.started
    beside, alone = read(True), read(False)
    if isinstance(alone, str) or alone is None:
        assert beside == alone, (beside, alone)
    else:
        assert_same(beside, alone)
    return {"forks": forked.started - before, "joined": [j is not None for j in joined],
            "outcome": "frame" if hasattr(alone, "columns") else alone}


def _write_case(case: str) -> dict:
    import io

    import geopandas as gpd
    import numpy as np
    import shapely

    from geo_service import forked
    from geo_service.io import geojson_writer
    from tests.test_geojson_stream import assert_same

    n = 3000
    ids = np.arange(n) * 3 if case == "write_whole_ids" else [f"p{i}" for i in range(n)]
    frame = gpd.GeoDataFrame({"id": ids, "name": [f"Point {i} é" for i in range(n)],
                              "n": np.arange(n), "share": np.arange(n) / 7 + 1e-9},
                             geometry=shapely.points(-11 - np.arange(n) / 1e4 / 3, 14 + np.arange(n) / 3e5),
                             crs="EPSG:4326")
    geojson_writer._CHUNK = 256
    if case == "write_child_fails":
        def fail(*args):
            raise MemoryError  # as a child the kernel stopped would
        geojson_writer._part = fail

    def write(split: bool):
        geojson_writer.SPLIT_FEATURES = 1000 if split else 10**12
        handle = io.BytesIO()
        return geojson_writer.write_plain(frame, handle), handle.getvalue()

    before = forked.started
    (beside, beside_bytes), (alone, alone_bytes) = write(True), write(False)
    assert beside_bytes == alone_bytes
    if alone is not None:
        assert_same(beside, alone)
    return {"forks": forked.started - before, "outcome": "frame" if alone is not None else None,
            "bytes": len(alone_bytes)}


def _run(case: str) -> None:
    result = _write_case(case) if case.startswith("write") else _read_case(case)
    print(json.dumps(result))


@pytest.fixture(scope="module")
def outcomes() -> dict:
    script = "import sys; from tests.test_forked import _run; [_run(case) for case in sys.argv[1:]]"
    done = subprocess.run([sys.executable, "-c", script, *CASES], cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(zip(CASES, map(json.loads, done.stdout.splitlines())))


@pytest.mark.parametrize("case", ["plain", "whole_ids"])
def test_a_document_read_beside_is_the_document_read_alone(outcomes, case):
    assert outcomes[case] == {"forks": 1, "joined": [True], "outcome": "frame"}


def test_a_text_id_among_whole_number_ids_later_on_is_not_plain_either_way(outcomes):
    assert outcomes["text_id_later"]["outcome"] is None and outcomes["text_id_later"]["forks"] == 1


@pytest.mark.parametrize("case", ["sparse_later", "line_later"])
def test_later_features_that_do_not_continue_the_first_are_read_again_in_order(outcomes, case):
    assert outcomes[case] == {"forks": 1, "joined": [False], "outcome": "frame"}


def test_a_document_that_is_not_plain_later_on_is_not_plain_either_way(outcomes):
    assert outcomes["id_missing_later"] == {"forks": 1, "joined": [False], "outcome": None}


def test_a_limit_passed_by_both_parts_together_is_refused_as_a_sequential_read_refuses_it(outcomes):
    outcome = outcomes["over_limit"]
    assert outcome["forks"] == 1 and outcome["joined"] == [False]
    assert "3,501 features" in outcome["outcome"] and "MAX_FEATURES" in outcome["outcome"]


def test_a_child_part_that_starts_inside_a_feature_is_dropped(outcomes):
    assert outcomes["geometry_lines"] == {"forks": 1, "joined": [], "outcome": "frame"}


@pytest.mark.parametrize("case", ["write", "write_whole_ids"])
def test_a_layer_written_beside_has_the_bytes_written_alone(outcomes, case):
    assert outcomes[case]["forks"] == 1 and outcomes[case]["outcome"] == "frame"
    assert outcomes[case]["bytes"] > 100_000


def test_a_part_the_child_fails_to_write_is_written_here(outcomes):
    assert outcomes["write_child_fails"]["forks"] == 1 and outcomes["write_child_fails"]["outcome"] == "frame"
    assert outcomes["write_child_fails"]["bytes"] == outcomes["write"]["bytes"]


def test_no_child_is_started_without_the_memory_it_needs(outcomes):
    assert outcomes["no_memory"] == {"forks": 0, "joined": [], "outcome": "frame"}
