"""Population where no census reaches: a gridded population raster (small GeoTIFFs made here, figures by hand)."""

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner
from pyproj import Geod, Transformer
from rasterio.io import MemoryFile

from geo_service.analysis import population
from geo_service.analysis.inputs import AnalysisInput
from geo_service.analysis.nearest import ProximityError
from geo_service.analysis.report import report_document, run_analysis
from geo_service.app import create_app
from geo_service.cli import main as cli_main
from tests.conftest import BUNDLED_LAYERS

GEOD = Geod(ellps="WGS84")


def from_origin(west, north, xsize, ysize):
    """rasterio's from_origin, without the deprecated ``*`` of affine 3 that it still uses."""
    return Affine(xsize, 0, west, 0, -ysize, north)
WEST, NORTH, CELL = -12.0, 14.1, 0.01  # a 10 × 10 grid of 0.01° cells (about 1.1 km)


def centre(row, col):
    return WEST + (col + 0.5) * CELL, NORTH - (row + 0.5) * CELL


def geotiff(values, crs="EPSG:4326", transform=None, nodata=-99999.0) -> bytes:
    values = np.asarray(values, dtype="float32")
    memory = MemoryFile()
    with memory.open(driver="GTiff", height=values.shape[0], width=values.shape[1], count=1, dtype="float32",
                     crs=crs, transform=transform or from_origin(WEST, NORTH, CELL, CELL), nodata=nodata) as dataset:
        dataset.write(values, 1)
    return memory.read()


def small_grid():
    values = np.zeros((10, 10))
    values[2, 3], values[2, 4], values[7, 7], values[0, 0] = 100, 40, 250, -99999  # the last: no data
    return values


AREA = (-12.5, 13.5, -11.5, 14.5)


def test_the_grid_is_read_as_populated_cell_centres_without_no_data():
    grid = population.open_grid(geotiff(small_grid()), "g.tif", AREA)
    def rounded(lon, lat):
        return round(lon, 6), round(lat, 6)

    assert sorted(zip(grid.people, grid.lon.round(6), grid.lat.round(6))) == [
        (40.0, *rounded(*centre(2, 4))), (100.0, *rounded(*centre(2, 3))), (250.0, *rounded(*centre(7, 7)))]
    assert grid.describe()["people_in_area"] == 390 and grid.coarsened == 1


def test_an_unknown_population_is_the_people_within_the_radius():
    grid = population.open_grid(geotiff(small_grid()), "g.tif", AREA)
    lon, lat = centre(2, 3)
    # 1 km holds only its own cell (the next centre is 1.08 km east); 1.2 km holds the neighbour too
    assert population.estimate([lon], [lat], grid, 1000).tolist() == [100]
    assert population.estimate([lon], [lat], grid, 1200).tolist() == [140]
    assert population.estimate([lon + 0.3], [lat], grid, 1000).tolist() == [0]


def test_the_grids_people_by_band_checked_by_hand():
    grid = population.open_grid(geotiff(small_grid()), "g.tif", AREA)
    service = centre(2, 3)
    distance = population.cell_distances(grid, np.array([service[0]]), np.array([service[1]]))
    expected = {p: GEOD.inv(*service, x, y)[2] for p, x, y in zip(grid.people, grid.lon, grid.lat)}
    assert expected[100.0] == 0 and 1000 < expected[40.0] < 1100 and 7000 < expected[250.0] < 8000
    counted = population.people_by_band(grid, distance, (5, 10), [0, 13, 94])
    assert counted["bands"] == [{"band": "0–5 km", "people": 140}, {"band": "5–10 km", "people": 250},
                                {"band": "over 10 km", "people": 0}]
    assert counted["within_hour_walk"] == 140 and counted["total"] == 390


def test_a_large_area_is_read_coarser_and_keeps_its_total(monkeypatch):
    values = np.arange(100, dtype=float).reshape(10, 10)
    monkeypatch.setattr(population, "MAX_CELLS", 25)
    grid = population.open_grid(geotiff(values), "g.tif", AREA)
    assert grid.coarsened == 2 and grid.cell_size == pytest.approx((0.02, 0.02))
    assert grid.people.sum() == values.sum()


def test_a_grid_in_utm_is_read_in_its_own_crs():
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32628", always_xy=True)
    x, y = to_utm.transform(-11.9, 14.0)
    values = np.zeros((4, 4))
    values[1, 1] = 500
    grid = population.open_grid(geotiff(values, "EPSG:32628", from_origin(x, y, 1000, 1000)), "utm.tif", AREA)
    lon, lat = Transformer.from_crs("EPSG:32628", "EPSG:4326", always_xy=True).transform(x + 1500, y - 1500)
    assert grid.lon.tolist() == pytest.approx([lon]) and grid.lat.tolist() == pytest.approx([lat])
    assert grid.units == "metre" and population.estimate([lon], [lat], grid, 100).tolist() == [500]


@pytest.mark.parametrize(("data", "message"), [
    (b"not a raster", "not a raster GDAL can read"),
    (geotiff(np.ones((3, 3)), transform=from_origin(30, 10, 0.01, 0.01)), "does not cover the communities"),
])
def test_rasters_that_cannot_be_used_are_refused(data, message):
    with pytest.raises(ProximityError, match=message):
        population.open_grid(data, "g.tif", AREA)


def test_the_analysis_marks_estimated_populations_and_counts_the_grid():
    villages = gpd.GeoDataFrame({"name": ["Connu", "Inconnu"], "population": [1000, None]},
                                geometry=gpd.points_from_xy([centre(7, 7)[0], centre(2, 3)[0]],
                                                            [centre(7, 7)[1], centre(2, 3)[1]]), crs="EPSG:4326")
    services = AnalysisInput(gpd.GeoDataFrame({"name": ["CS"]}, geometry=gpd.points_from_xy(
        [centre(2, 3)[0]], [centre(2, 3)[1]]), crs="EPSG:4326"), "s")
    report = run_analysis(AnalysisInput(villages, "v"), services, bands_km=(5, 10),
                          grid_source=(geotiff(small_grid()), "g.tif"), radius_km=1.2)
    rows = report.results
    assert rows["population"].tolist() == [1000, 140]  # the known one is kept, the unknown one estimated
    assert rows["population_estimated"].tolist() == [False, True]
    grid = report_document(report, include_features=False)["population_grid"]
    assert grid["none"]["bands"][:2] == [{"band": "0–5 km", "people": 140}, {"band": "5–10 km", "people": 250}]
    assert grid["assumptions"]["radius_km"] == 1.2


def _bundled_grid() -> bytes:
    """A 0.05° grid over Kidira and Diboli: 10 people a cell on each bank."""
    values = np.full((8, 8), 10.0)
    return geotiff(values, transform=from_origin(-12.4, 14.65, 0.05, 0.05))


def test_the_api_takes_a_grid_and_counts_its_people_in_each_season():
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    data = {"communities": "communities", "services": "health_centres", "barriers": "rivers:faleme",
            "population_file": (io.BytesIO(_bundled_grid()), "grid.tif"), "population_radius_km": "4"}
    answer = client.post("/api/proximity", data=data, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    document = answer.get_json()
    assert set(document["population_grid"]) == {"assumptions", "none", "dry", "wet"}
    assert document["population_grid"]["none"]["total"] == document["population_grid"]["wet"]["total"] > 0
    diboli = next(f["properties"] for f in document["results"]["features"] if f["properties"]["name"] == "Diboli")
    assert diboli["population_estimated"] is True and diboli["population"] > 0
    bad = dict(data, population_file=(io.BytesIO(b"GIF89a"), "grid.tif"))
    assert client.post("/api/proximity", data=bad, content_type="multipart/form-data").status_code == 400


def test_the_cli_takes_a_grid(tmp_path):
    raster = tmp_path / "grid.tif"
    raster.write_bytes(_bundled_grid())
    out = tmp_path / "result.geojson"
    result = CliRunner().invoke(cli_main, ["--layers-dir", str(BUNDLED_LAYERS), "proximity", "--communities",
                                           "communities", "--services", "health_centres", "--population",
                                           str(raster), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "people in the grid grid.tif" in result.output
    features = json.loads(out.read_text())["features"]
    estimated = [f["properties"] for f in features if f["properties"]["population_estimated"]]
    assert estimated and all(isinstance(p["population"], int) for p in estimated)
    assert pd.notna(estimated[0]["population"])


def test_site_suggestion_takes_uploads_and_weighs_by_the_grid():
    """Two unknown villages: without a grid each counts once; with it, the one with more people around wins."""
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    villages = gpd.GeoDataFrame({"name": ["Peu", "Beaucoup"]}, geometry=gpd.points_from_xy(
        [centre(2, 4)[0], centre(7, 7)[0]], [centre(2, 4)[1], centre(7, 7)[1]]), crs="EPSG:4326")
    far = gpd.GeoDataFrame({"name": ["Loin"]}, geometry=gpd.points_from_xy([-11.2], [12.9]), crs="EPSG:4326")

    def ask(**extra):
        data = {"communities_file": (io.BytesIO(villages.to_json().encode()), "villages.geojson"),
                "services_file": (io.BytesIO(far.to_json().encode()), "far.geojson"), "k": "1", "within_km": "0.5",
                **extra}
        answer = client.post("/api/proximity/sites", data=data, content_type="multipart/form-data")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    plain = ask()
    assert plain["weighted_by_population"] is False and plain["newly_covered"] == 1
    weighted = ask(population_file=(io.BytesIO(geotiff(small_grid())), "grid.tif"), population_radius_km="0.5")
    assert weighted["weighted_by_population"] is True
    assert weighted["sites"][0]["name"] == "Beaucoup" and weighted["newly_covered"] == 250
    assert any("estimated from grid.tif" in note for note in weighted["notes"])
