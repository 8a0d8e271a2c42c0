"""OGC API – Processes: the proximity analysis run as a process gives what /api/proximity gives, synchronously
or as a job; its inputs are layer ids, inline GeoJSON or links to this service's own layers only."""

from __future__ import annotations

import json

import pytest
from owslib.ogcapi.processes import Processes

from tests.conftest import TEST_LAYERS, assert_error_document
from tests.live_server import live_server

SITES_AS_GEOJSON = {"type": "FeatureCollection", "features": TEST_LAYERS["sites"][1]}


def test_the_process_describes_its_inputs(client):
    listed = client.get("/ogc/processes").get_json()["processes"]
    assert [p["id"] for p in listed] == ["proximity"]
    described = client.get("/ogc/processes/proximity?lang=fr").get_json()
    assert described["inputs"]["communities"]["schema"]["oneOf"][0]["enum"] == ["sites", "roads", "zones"]
    assert described["inputs"]["bands"]["title"] == "Tranches de distance, en km"
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in \
        client.get("/ogc/conformance").get_json()["conformsTo"]
    assert any(link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/processes"
               for link in client.get("/ogc/").get_json()["links"])


@pytest.mark.parametrize("communities", ["sites", {"href": "http://elsewhere.example/ogc/collections/sites"},
                                         {"value": SITES_AS_GEOJSON}, SITES_AS_GEOJSON])
def test_execution_answers_what_the_proximity_api_answers(client, communities):
    body = {"inputs": {"communities": communities, "services": "sites", "bands": [5, 50], "max_km": 100}}
    executed = client.post("/ogc/processes/proximity/execution", json=body)
    assert executed.status_code == 200, executed.get_json()
    expected = client.post("/api/proximity", data={"communities": "sites", "services": "sites", "bands": "5,50",
                                                   "max_km": "100"}).get_json()
    got = executed.get_json()
    assert got["results"] == expected["results"] and got["summary"] == expected["summary"]


def test_an_asynchronous_execution_is_a_job_with_its_results(client):
    body = {"inputs": {"communities": "sites", "services": "sites"}}
    created = client.post("/ogc/processes/proximity/execution", json=body, headers={"Prefer": "respond-async"})
    assert created.status_code == 201 and created.headers["Preference-Applied"] == "respond-async"
    job = client.get(created.headers["Location"].removeprefix("http://localhost")).get_json()
    assert job["status"] == "successful"
    results = next(link["href"] for link in job["links"] if link["rel"].endswith("/results"))
    answer = client.get(results.removeprefix("http://localhost")).get_json()
    assert answer["results"] == client.post("/ogc/processes/proximity/execution", json=body).get_json()["results"]
    assert_error_document(client.get("/ogc/jobs/AAAAAAAAAAAAAAAAAAAAAA"), 404)


@pytest.mark.parametrize(("inputs", "message"), [
    ({"communities": {"href": "http://169.254.169.254/latest/meta-data"}, "services": "sites"}, "links may name"),
    ({"communities": "sites", "services": "sites", "colour": "red"}, "unknown inputs"),
    ({"communities": 5, "services": "sites"}, "must be a layer id"),
    ({"communities": "sites", "services": "sites", "bands": "5"}, "must be an array"),
    ({"services": "sites"}, "communities"),
])
def test_bad_inputs_are_refused_and_nothing_is_fetched(client, inputs, message):
    response = client.post("/ogc/processes/proximity/execution", json={"inputs": inputs})
    assert response.status_code == 400 and message in response.get_json()["description"]


def test_owslib_runs_the_process(layers_dir, tmp_path):
    with live_server({"layers_dir": layers_dir}, tmp_path) as (url, _):
        api = Processes(f"{url}/ogc")
        assert [p["id"] for p in api.processes()] == ["proximity"]
        assert "communities" in api.process("proximity")["inputs"]
        result = api.execute("proximity", inputs={"communities": "sites", "services": "sites", "bands": [5]})
        assert {r["id"] for r in result["results"]["features"]} == {f["id"] for f in TEST_LAYERS["sites"][1]}
        job = api.execute("proximity", inputs={"communities": "sites", "services": "sites"}, async_=True)
        assert json.loads(json.dumps(job))["status"] == "successful"
