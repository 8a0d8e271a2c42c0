"""OGC API – Features Part 4 on every backend: each edit of one feature is a new, valid version of its layer
with the previous one in the history (so it can be rolled back); If-Match guards against lost updates."""

from __future__ import annotations

import pytest

from geo_service.io.validation import validate_store
from tests.conftest import assert_error_document

TOKEN = "edit-token-" + "x" * 16
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-12.1, 14.3]},
       "properties": {"name": "Ballou", "country": "SN", "population": 1200, "source": "test survey"}}


@pytest.fixture
def editing(make_app, open_test_store):
    return make_app({"token": TOKEN}).test_client(), open_test_store


def _state(open_test_store):
    store = open_test_store()
    return store.version("sites"), [v.version for v in store.history("sites")]


def test_create_replace_patch_delete_each_make_a_valid_version_kept_in_the_history(editing):
    client, open_test_store = editing
    versions = [_state(open_test_store)[0]]

    created = client.post("/ogc/collections/sites/items", json=NEW, headers=AUTH)
    assert created.status_code == 201
    href = created.headers["Location"].removeprefix("http://localhost")
    assert client.get(href).get_json()["properties"]["name"] == "Ballou"
    versions.append(_state(open_test_store)[0])

    replaced = client.put(href, json={**NEW, "properties": {**NEW["properties"], "name": "Ballou (SN)"}},
                          headers={**AUTH, "If-Match": created.headers["ETag"]})
    assert replaced.status_code == 200 and replaced.get_json()["properties"]["name"] == "Ballou (SN)"
    versions.append(_state(open_test_store)[0])

    patched = client.patch(href, json={"properties": {"population": 1300, "source": None}},
                           headers={**AUTH, "If-Match": replaced.headers["ETag"]})
    properties = patched.get_json()["properties"]
    assert properties["population"] == 1300 and properties["name"] == "Ballou (SN)"
    assert properties["source"].startswith("added through the OGC API")  # every feature keeps a source
    versions.append(_state(open_test_store)[0])

    kayes = client.get("/ogc/collections/sites/items/kayes")
    assert client.delete("/ogc/collections/sites/items/kayes",
                         headers={**AUTH, "If-Match": kayes.headers["ETag"]}).status_code == 204
    assert_error_document(client.get("/ogc/collections/sites/items/kayes"), 404)
    versions.append(_state(open_test_store)[0])

    assert len(set(versions)) == 5  # each edit is a version
    store = open_test_store()
    assert [v.version for v in store.history("sites")][:4] == versions[-2::-1][:4]  # newest first
    assert validate_store(store) == []
    assert store.read("sites")["population"].dtype.name == "Int64"  # integers stay integers
    store.rollback("sites")  # the delete undone
    assert client.get("/ogc/collections/sites/items/kayes").status_code == 200


def test_a_stale_if_match_is_a_412_and_changes_nothing(editing):
    client, open_test_store = editing
    before = client.get("/ogc/collections/sites/items/kidira")
    other = client.patch("/ogc/collections/sites/items/kidira", json={"properties": {"population": 1}},
                         headers={**AUTH, "If-Match": before.headers["ETag"]})
    assert other.status_code == 200
    version = _state(open_test_store)[0]
    stale = client.patch("/ogc/collections/sites/items/kidira", json={"properties": {"population": 2}},
                         headers={**AUTH, "If-Match": before.headers["ETag"]})
    assert_error_document(stale, 412, "PreconditionFailed")
    assert_error_document(client.delete("/ogc/collections/sites/items/kidira", headers=AUTH), 428)
    assert _state(open_test_store)[0] == version
    # another feature's edit in between does not make this one's ETag stale
    diboli = client.get("/ogc/collections/sites/items/diboli")
    assert client.patch("/ogc/collections/sites/items/diboli", json={"properties": {"name": "Diboli (ML)"}},
                        headers={**AUTH, "If-Match": diboli.headers["ETag"]}).status_code == 200


@pytest.mark.parametrize(("body", "message"), [
    ({**NEW, "geometry": {"type": "LineString", "coordinates": [[-12, 14], [-11, 14]]}}, "Point features only"),
    ({**NEW, "geometry": {"type": "Point", "coordinates": [30, 40]}}, "outside the service's area"),
    ({**NEW, "geometry": None}, "geometry"),
    ({"type": "FeatureCollection", "features": []}, "one GeoJSON Feature"),
    ({**NEW, "id": "kayes"}, "exists already"),
])
def test_bad_features_are_refused_by_the_import_rules_and_change_nothing(editing, body, message):
    client, open_test_store = editing
    version = _state(open_test_store)[0]
    response = client.post("/ogc/collections/sites/items", json=body, headers=AUTH)
    assert response.status_code in (400, 409) and message in response.get_json()["description"]
    assert _state(open_test_store)[0] == version


def test_edits_need_the_token_and_are_refused_when_writes_are_off(make_app, client):
    assert_error_document(client.post("/ogc/collections/sites/items", json=NEW), 403, "WritesDisabled")
    guarded = make_app({"token": TOKEN}).test_client()
    assert guarded.post("/ogc/collections/sites/items", json=NEW).status_code == 401
    assert guarded.delete("/ogc/collections/sites/items/kayes", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
