"""The catalogue schema and loader."""

import copy
import json

import pytest

from geo_service.catalogue import load_catalogue, parse_catalogue
from geo_service.errors import CatalogueError, LayerNotFoundError
from tests.conftest import BUNDLED_LAYERS, catalogue_entry


def doc(*entries):
    return {"catalogue_version": 1, "layers": list(entries)}


def test_bundled_catalogue_has_the_mission_layers():
    catalogue = load_catalogue(BUNDLED_LAYERS / "catalogue.json")
    assert set(catalogue.ids) == {"border", "regions", "patrol_bases", "health_centres", "rivers", "communities",
                                  "crossings"}


def test_every_bundled_entry_has_licence_source_and_both_languages():
    for layer in load_catalogue(BUNDLED_LAYERS / "catalogue.json").layers:
        assert layer.licence.strip() and layer.attribution.strip()
        assert layer.sources and all(s.licence and (s.package or s.citation) for s in layer.sources)
        assert all(s.version for s in layer.sources if s.package), layer.id
        assert layer.title.en != layer.title.fr or layer.id == "rivers"
        assert layer.description.en and layer.description.fr


def test_get_unknown_layer_lists_the_known_ones():
    catalogue = parse_catalogue(doc(catalogue_entry("sites", "Point")))
    with pytest.raises(LayerNotFoundError, match="known layers: sites"):
        catalogue.get("../../etc/passwd")


@pytest.mark.parametrize("change, where, words", [
    (lambda e: e.pop("licence"), "layers[0]:", "'licence' is a required property"),
    (lambda e: e.update(id="Bad-Id"), "layers[0].id:", "does not match"),
    (lambda e: e.update(geometry_type="Circle"), "layers[0].geometry_type:", "'Circle' is not one of"),
    (lambda e: e["title"].pop("fr"), "layers[0].title:", "'fr' is a required property"),
    (lambda e: e["style"].update(color="red"), "layers[0].style.color:", "does not match"),
    (lambda e: e.update(sources=[{"name": "x", "licence": "y"}]), "layers[0].sources[0]:", "is not valid under any"),
])
def test_schema_errors_name_the_place(change, where, words):
    entry = catalogue_entry("sites", "Point")
    change(entry)
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(doc(entry), origin="cat.json")
    assert info.value.message.startswith(f"cat.json: {where} ")
    assert words in info.value.message


def test_duplicate_ids_are_refused():
    entry = catalogue_entry("sites", "Point")
    with pytest.raises(CatalogueError, match="duplicate layer ids: sites"):
        parse_catalogue(doc(entry, copy.deepcopy(entry)))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(CatalogueError, match="catalogue file not found"):
        load_catalogue(tmp_path / "catalogue.json")
    (tmp_path / "catalogue.json").write_text('{"catalogue_version": 1, "layers": [', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"not valid JSON: .*line 1"):
        load_catalogue(tmp_path / "catalogue.json")


def test_entry_round_trips_through_its_document():
    entry = catalogue_entry("sites", "Point")
    layer = parse_catalogue(doc(entry)).get("sites")
    assert layer.to_document() == entry
    assert json.dumps(layer.to_document())
