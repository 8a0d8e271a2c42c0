"""Facilities by level: the nearest first-contact and the nearest referral facility side by side; type filters."""

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod

from geo_service.analysis.levels import facility_levels
from geo_service.app import create_app
from geo_service.analysis.nearest import ProximityError
from geo_service.analysis.inputs import AnalysisInput
from geo_service.analysis.report import run_analysis
from tests.conftest import BUNDLED_LAYERS

KIDIRA, DIBOLI, KAYES = (-12.21659, 14.45668), (-12.200601, 14.457159), (-11.44393, 14.44776)


def test_levels_from_the_type_vocabularies():
    types = pd.Series(["Poste de Santé", "Community Health Centre", "Referral Health Centre", "CSRef de Kayes",
                       "Hôpital Régional", "Hospital", "Clinic", None, "Centre de Santé de Référence"])
    assert facility_levels(types).tolist() == [
        "first_contact", "first_contact", "referral", "referral", "referral", "referral", "first_contact", pd.NA,
        "referral"]


def frame(points, **columns):
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(*zip(*points)), crs="EPSG:4326")


def test_nearest_first_contact_and_referral_side_by_side():
    communities = AnalysisInput(frame([KIDIRA], name=["Kidira"]), "c")
    services = AnalysisInput(frame([DIBOLI, KAYES], name=["Poste de Diboli", "Hôpital de Kayes"],
                                   type=["Poste de Santé", "Hôpital Régional"]), "s")
    row = run_analysis(communities, services, bands_km=(5, 10, 20), levels=True).results.iloc[0]
    geod = Geod(ellps="WGS84")
    assert row["first_contact_service_name"] == "Poste de Diboli"
    assert row["first_contact_distance_m"] == pytest.approx(geod.inv(*KIDIRA, *DIBOLI)[2], abs=0.1)
    assert row["referral_service_name"] == "Hôpital de Kayes"
    assert row["referral_distance_m"] == pytest.approx(geod.inv(*KIDIRA, *KAYES)[2], abs=0.1)
    assert row["service_name"] == "Poste de Diboli"  # the nearest of any level is still there


def test_a_missing_level_is_left_empty_with_a_note():
    communities = AnalysisInput(frame([KIDIRA], name=["Kidira"]), "c")
    services = AnalysisInput(frame([DIBOLI], name=["Poste"], type=["Poste de Santé"]), "s")
    report = run_analysis(communities, services, bands_km=(5,), levels=True)
    assert pd.isna(report.results.iloc[0]["referral_service_name"])
    assert any("no referral facility" in str(note) for note in report.notes)


def test_type_filters():
    communities = AnalysisInput(frame([KIDIRA], name=["Kidira"]), "c")
    services = AnalysisInput(frame([DIBOLI, KAYES], name=["Poste", "Hôpital"], type=["Poste de Santé", "Hospital"]),
                             "s")
    only = run_analysis(communities, services, bands_km=(5,), service_types=["hospital"]).results.iloc[0]
    assert only["service_name"] == "Hôpital"
    with pytest.raises(ProximityError, match="no facility of type Clinic; types: Hospital, Poste de Santé"):
        run_analysis(communities, services, bands_km=(5,), service_types=["Clinic"])
    untyped = AnalysisInput(frame([DIBOLI], name=["Poste"]), "s")
    with pytest.raises(ProximityError, match="needs a 'type' column"):
        run_analysis(communities, untyped, bands_km=(5,), levels=True)


def test_levels_through_the_api_and_the_workbook():
    from io import BytesIO

    from openpyxl import load_workbook

    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    url = "/api/proximity?communities=communities&services=health_centres&levels=true"
    results = client.get(url).get_json()["results"]["features"]
    assert all("referral_distance_m" in f["properties"] for f in results)
    assert all(f["properties"]["referral_distance_m"] >= f["properties"]["distance_m"] for f in results)
    header = next(load_workbook(BytesIO(client.get(url + "&format=xlsx&lang=fr").data))["Localités"].values)
    assert "établissement de référence le plus proche (CSRef, hôpital)" in header

