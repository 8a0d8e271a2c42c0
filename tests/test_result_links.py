"""Permanent links to results: the same figures after a restart and after a layer changes; 404 when unknown
or expired; the results folder kept within its size and age."""

import io
import json
import time

import pytest

from geo_service.store import ResultStore
from tests.conftest import assert_error_document
from tests.test_field_exports import csv_bytes, kobo_rows


def saved_link(client, **fields):
    data = {"services": "sites", "save": "true", **fields}
    if "communities" not in data:
        header, rows = kobo_rows()
        data["communities_file"] = (io.BytesIO(csv_bytes(header, rows)), "enquete.csv")
    response = client.post("/api/proximity", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    links = {link["rel"]: link["href"] for link in response.get_json()["links"]}
    return response.get_json(), links["alternate"].split("localhost")[1], links["self"].split("localhost")[1]


def test_a_saved_result_reopens_with_the_same_figures_after_a_restart(layers_dir, make_app):
    first, page, api = saved_link(make_app().test_client())
    restarted = make_app().test_client()  # a new process would see the same folder
    again = restarted.get(api).get_json()
    for key in ("summary", "cross_border", "underserved", "results"):
        assert again[key] == first[key], key
    assert restarted.get(page).status_code == 200 and restarted.get(page + "?lang=fr").status_code == 200
    from openpyxl import load_workbook
    workbook = load_workbook(io.BytesIO(restarted.get(api + "?format=xlsx&lang=fr").data))
    assert workbook.sheetnames[0] == "Localités" and "input__uuid" in next(workbook["Localités"].values)
    assert restarted.get(api + "?format=pdf&lang=fr").data.startswith(b"%PDF")


def test_a_layer_changed_later_does_not_change_the_saved_result(open_test_store, make_app):
    client = make_app().test_client()
    first, _, api = saved_link(client, communities="sites")
    store = open_test_store()
    store.replace("sites", store.read("sites").iloc[:1])  # the services layer loses three of its four points
    assert client.get(api).get_json()["summary"] == first["summary"]
    fresh = client.post("/api/proximity", data={"communities": "sites", "services": "sites"}).get_json()
    assert fresh["summary"] != first["summary"]  # a new analysis sees the change


@pytest.mark.parametrize("result_id", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "..%2F..%2Fcatalogue.json", "a" * 200])
def test_unknown_or_malformed_ids_are_404(client, result_id):
    assert_error_document(client.get(f"/api/proximity/r/{result_id}"), 404)
    assert client.get(f"/proximity/r/{result_id}").status_code == 404


def test_expired_results_are_404_and_removed(layers_dir, make_app):
    client = make_app({"results_max_days": 1}).test_client()
    _, page, api = saved_link(client)
    result_id = api.rsplit("/", 1)[1]
    meta_path = layers_dir / ".results" / result_id / "result.json"
    meta = json.loads(meta_path.read_text())
    meta["created"] = time.time() - 2 * 86400  # saved two days ago
    meta_path.write_text(json.dumps(meta))
    assert "expired" in assert_error_document(client.get(api), 404)["description"]
    assert client.get(page).status_code == 404
    assert ResultStore(layers_dir / ".results", max_days=1).purge() == 1
    assert not (layers_dir / ".results" / result_id).exists()


def test_the_results_folder_keeps_within_its_size(tmp_path):
    store = ResultStore(tmp_path / "results", max_mb=1)
    ids = [store.save({"n": str(i)}, {"communities_file": (b"x" * 400_000, "big.csv")}) for i in range(4)]
    count, size = store.usage()
    assert size <= 2**20 and count == 2
    with pytest.raises(Exception, match="no such result"):
        store.open(ids[0])  # the oldest went first
    assert store.open(ids[-1]).parameters == {"n": "3"}


def test_cli_usage_and_purge(runner, layers_dir, make_app):
    saved_link(make_app().test_client())
    assert "1 saved results" in runner(["results", "usage"]).output
    assert "removed 0" in runner(["results", "purge"]).output  # nothing expired
    assert "removed 1" in runner(["results", "purge", "--all"]).output
    assert "0 saved results" in runner(["results", "usage"]).output
