"""Field survey exports (KoboToolbox CSV/XLSX, ODK Central, HXL) read without any column named by hand.

Each export is written here the way the tool writes it. The places are Kidira
(Senegal) and Diboli (Mali), at their GeoNames/OpenStreetMap points used
throughout the tests.
"""

import io

import pytest
from openpyxl import Workbook

from geo_service.app import create_app
from geo_service.io.field_exports import ColumnChoiceError
from geo_service.io.ingest import ColumnChoice, read_upload
from geo_service.analysis.inputs import from_upload
from tests.conftest import BUNDLED_LAYERS, assert_error_document

KIDIRA = (14.45668, -12.21659)
DIBOLI = (14.457159, -12.200601)


def kobo_rows(prefix: str = "", accuracy: tuple = (4.8, 6.0)) -> tuple[list[str], list[list]]:
    """A KoboToolbox export with labels as headers: the raw geopoint and its split columns, meta columns."""
    q = f"{prefix}localisation"
    split = f"{prefix}_localisation"
    header = ["start", "Nom du village", "Nombre d'habitants", "Pays", q, f"{split}_latitude",
              f"{split}_longitude", f"{split}_altitude", f"{split}_precision", "_id", "_uuid", "_index"]
    rows = []
    for index, ((lat, lon), name, population, country, acc) in enumerate(zip(
            (KIDIRA, DIBOLI), ("Kidira", "Diboli"), (13551, ""), ("Sénégal", "Mali"), accuracy), start=1):
        rows.append(["2026-10-02T09:14:00.000+00:00", name, population, country, f"{lat} {lon} 32 {acc}", lat, lon,
                     32, acc, 1000 + index, f"0b6c0d4e-9f6a-4c55-9f4e-00000000000{index}", index])
    return header, rows


def csv_bytes(header, rows, sep=";") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_bytes(header, rows, sheet="Villages", extra_first_sheet=False) -> bytes:
    workbook = Workbook()
    first = workbook.active
    if extra_first_sheet:
        first.title = "Notes"
        first.append(["Enquête de terrain, Kayes, octobre 2026"])
        data = workbook.create_sheet(sheet)
    else:
        first.title = sheet
        data = first
    data.append(header)
    for row in rows:
        data.append([None if v == "" else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def points(frame):
    return [(round(p.y, 6), round(p.x, 6)) for p in frame.geometry]


@pytest.mark.parametrize("make, filename", [
    (lambda: csv_bytes(*kobo_rows()), "kobo.csv"),
    (lambda: csv_bytes(*kobo_rows(prefix="groupe_lieu/")), "kobo_group_slash.csv"),
    (lambda: csv_bytes(*kobo_rows(prefix="groupe_lieu-"), sep=","), "kobo_group_dash.csv"),
    (lambda: csv_bytes(*kobo_rows(prefix="groupe_lieu."), sep="\t"), "kobo_group_dot.tsv"),
    (lambda: xlsx_bytes(*kobo_rows()), "kobo.xlsx"),
    (lambda: xlsx_bytes(*kobo_rows(prefix="groupe_lieu/"), extra_first_sheet=True), "kobo_second_sheet.xlsx"),
])
def test_kobo_exports_are_read_with_names_populations_and_countries(make, filename):
    analysis = from_upload(make(), filename, extent=None)
    frame = analysis.frame
    assert points(frame) == [KIDIRA, DIBOLI]
    assert frame["name"].tolist() == ["Kidira", "Diboli"]
    assert frame["population"].iloc[0] == 13551 and frame["population"].isna().iloc[1]  # unknown stays unknown
    assert frame["country"].tolist() == ["SN", "ML"]
    assert frame["_uuid"].tolist()[0].startswith("0b6c0d4e")  # survey columns are kept to join back
    assert any(str(note).startswith(f"{filename}: location read from ") and "_localisation_latitude" in str(note)
               for note in analysis.notes)


def test_raw_geopoint_column_alone():
    data = b"village,gps\nKidira,14.45668 -12.21659 32 4.8\nDiboli,14.457159 -12.200601 30 5\n"
    frame, notes = read_upload(data, "raw.csv", extent=None)
    assert points(frame) == [KIDIRA, DIBOLI]
    assert frame["location_accuracy_m"].tolist() == [4.8, 5.0]
    assert str(notes[0]) == "raw.csv: location read from gps"


def test_kobo_geolocation_column_alone():
    data = b'village;_geolocation\nKidira;"[14.45668, -12.21659]"\nDiboli;"[14.457159, -12.200601]"\n'
    frame, notes = read_upload(data, "geoloc.csv", extent=None)
    assert points(frame) == [KIDIRA, DIBOLI] and str(notes[0]) == "geoloc.csv: location read from _geolocation"


def test_hxl_hashtag_row():
    data = ("Localité,Latitude GPS,Longitude GPS,Habitants recensés\n#loc+name,#geo+lat,#geo+lon,#population\n"
            "Kidira,14.45668,-12.21659,13551\nDiboli,14.457159,-12.200601,\n").encode()
    analysis = from_upload(data, "hxl.csv", extent=None)
    assert points(analysis.frame) == [KIDIRA, DIBOLI]
    assert analysis.frame["name"].tolist() == ["Kidira", "Diboli"]
    assert analysis.frame["population"].iloc[0] == 13551


def test_odk_central_export_with_a_group_prefix():
    header = ["SubmissionDate", "grp-nom", "grp-gps-Latitude", "grp-gps-Longitude", "grp-gps-Altitude",
              "grp-gps-Accuracy", "meta-instanceID", "KEY"]
    rows = [["2026-10-02", "Kidira", *KIDIRA, 32, 250.0, "uuid:a1", "uuid:a1"],
            ["2026-10-02", "Diboli", *DIBOLI, 30, 6.0, "uuid:a2", "uuid:a2"]]
    analysis = from_upload(csv_bytes(header, rows, sep=","), "odk.csv", extent=None)
    frame = analysis.frame
    assert points(frame) == [KIDIRA, DIBOLI] and frame["name"].tolist() == ["Kidira", "Diboli"]
    assert frame["location_imprecise"].tolist() == [True, False]  # 250 m: kept and flagged
    assert any("1 rows have a GPS accuracy worse than 100 m" in str(note) for note in analysis.notes)


def test_the_accuracy_threshold_is_settable():
    header, rows = kobo_rows(accuracy=(4.8, 30.0))
    frame, _ = read_upload(csv_bytes(header, rows), "kobo.csv", extent=None,
                           columns=ColumnChoice(accuracy_threshold_m=10))
    assert frame["location_imprecise"].tolist() == [False, True]


AMBIGUOUS = (b"nom,_gps_maison_latitude,_gps_maison_longitude,_gps_ecole_latitude,_gps_ecole_longitude\n"
             b"Kidira,14.45668,-12.21659,14.4571,-12.2006\n")


def test_two_geopoint_questions_are_a_choice_listing_the_columns():
    with pytest.raises(ColumnChoiceError) as caught:
        read_upload(AMBIGUOUS, "two.csv", extent=None)
    error = caught.value
    assert "2 possible locations" in error.message and "lat_col" in error.message and "--" not in error.message
    assert error.details["columns"][0] == "nom" and len(error.details["candidates"]) == 2
    frame, _ = read_upload(AMBIGUOUS, "two.csv", extent=None,
                           columns=ColumnChoice(lat_col="_gps_ecole_latitude", lon_col="_gps_ecole_longitude"))
    assert points(frame) == [(14.4571, -12.2006)]


def test_the_api_lists_the_columns_and_the_parameters():
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    response = client.post("/api/proximity", data={"communities_file": (io.BytesIO(AMBIGUOUS), "two.csv"),
                                                   "services": "health_centres"},
                           content_type="multipart/form-data")
    doc = assert_error_document(response, 400, "ColumnChoiceNeeded")
    assert doc["details"]["parameters"] == ["lat_col", "lon_col", "geopoint_col"]
    assert "_gps_ecole_latitude" in doc["details"]["columns"]
    chosen = client.post("/api/proximity", data={"communities_file": (io.BytesIO(AMBIGUOUS), "two.csv"),
                                                 "services": "health_centres", "geopoint_col": "",
                                                 "lat_col": "_gps_maison_latitude",
                                                 "lon_col": "_gps_maison_longitude"},
                         content_type="multipart/form-data")
    assert chosen.status_code == 200, chosen.get_json()


def test_every_input_column_comes_back_in_csv_and_geojson():
    import csv
    import json

    header, rows = kobo_rows(prefix="groupe_lieu/")
    rows.append(["2026-10-02", "", "", "Mali", "14.44776 -11.44393 50 5", 14.44776, -11.44393, 50, 5, 1003,
                 "0b6c0d4e-9f6a-4c55-9f4e-000000000003", 3])  # an unnamed place (Kayes' point)
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    answers = {}
    for fmt in ("csv", "geojson", "json"):
        answers[fmt] = client.post("/api/proximity", data={
            "communities_file": (io.BytesIO(csv_bytes(header, rows)), "kobo.csv"), "services": "health_centres",
            "format": fmt}, content_type="multipart/form-data")
        assert answers[fmt].status_code == 200, answers[fmt].get_data(as_text=True)[:300]
    table = list(csv.DictReader(io.StringIO(answers["csv"].get_data(as_text=True))))
    for column in header:
        assert f"input_{column}" in table[0], column
    assert [r["input__uuid"][-1] for r in table] == ["1", "2", "3"] and [r["row"] for r in table] == ["1", "2", "3"]
    assert table[2]["label"] == "#3 (14.44776, -11.44393)" and table[0]["label"] == "Kidira"
    features = json.loads(answers["geojson"].data)["features"]
    assert features[1]["properties"]["input_groupe_lieu/_localisation_precision"] == 6.0
    assert features[0]["properties"]["input_Nom du village"] == "Kidira"
    assert json.loads(answers["json"].data)["results"]["features"][2]["properties"]["label"].startswith("#3 ")
