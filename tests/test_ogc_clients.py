"""The OGC API as analysts' clients use it, against a server in its own process on the chosen backend: GDAL's
OAPIF driver (Debian's ogrinfo and pyogrio's GDAL) and OWSLib. The server's access log shows what each
client asked for: filters and bounding boxes must reach the server, not be applied after downloading all."""

from __future__ import annotations

import shutil
import subprocess

import pyogrio
import pytest
from owslib.ogcapi.features import Features

from tests.live_server import live_server


@pytest.fixture
def live(store_settings, tmp_path):
    with live_server(store_settings, tmp_path) as served:
        yield served


def _items_requests(requests, layer_id: str) -> list[str]:
    return [line for line in requests() if f"/collections/{layer_id}/items?" in line]


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="Debian's gdal-bin is installed by .ci/run")
def test_ogrinfo_sends_where_and_spat_to_the_server_page_by_page(live):
    url, requests = live
    out = subprocess.run(
        ["ogrinfo", "-ro", "-oo", "PAGE_SIZE=1", f"OAPIF:{url}/ogc", "sites",
         "-where", "country = 'ML' AND population > 100", "-spat", "-12.5", "14", "-11", "15"],
        capture_output=True, text=True, check=True, timeout=120).stdout
    assert "Feature Count: 1" in out and "Kayes" in out and "Kidira" not in out
    sent = _items_requests(requests, "sites")
    filtered = [line for line in sent if "filter=" in line]
    assert filtered, sent
    for line in filtered:  # the whole filter, the bbox and the page size, on the server
        assert "filter=(country = 'ML') AND (population > 100)&" in line and "filter-lang=cql-text" in line
        assert "bbox=-12.5,14,-11,15" in line and "limit=1" in line


def test_pyogrio_gdal_sends_filters_and_types_integers_as_integers(live):
    url, requests = live
    frame = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="sites", where="name ILIKE 'k%' OR population IS NULL",
                                   bbox=(-12.5, 14, -11, 15))
    assert sorted(frame["name"]) == ["Diboli", "Kayes", "Kidira"]
    assert any("filter=(name ILIKE 'k%') OR ((population IS NULL))" in line and "bbox=" in line
               for line in _items_requests(requests, "sites")), requests()
    info = pyogrio.read_info(f"OAPIF:{url}/ogc", layer="sites")
    types = dict(zip(info["fields"], info["dtypes"]))
    assert types["population"].startswith("int") and types["name"] == "object"


def test_owslib_reads_queryables_and_filters_with_cql2(live):
    url, _ = live
    api = Features(f"{url}/ogc")
    queryables = api.collection_queryables("sites")
    assert queryables["properties"]["population"]["type"] == "integer"
    assert queryables["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    text = api.collection_items("sites", filter="population BETWEEN 1 AND 20000 AND country <> 'SN'",
                                **{"filter-lang": "cql2-text"})
    assert [f["id"] for f in text["features"]] == ["hostile"]
    json_filter = '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [-12.3, 14.4, -12.1, 14.5]}]}'
    found = api.collection_items("sites", filter=json_filter, sortby="-name", **{"filter-lang": "cql2-json"})
    assert [f["id"] for f in found["features"]] == ["kidira", "diboli"]
    assert found["numberMatched"] == 2
