"""Reading users' files: formats, coordinate columns, CRS, area checks, archives, clear errors."""

import io
import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from geo_service.config import Extent
from geo_service.io.formats import write as write_format
from geo_service.io.ingest import ColumnChoice, IngestError, read_upload
from geo_service.analysis.inputs import from_upload, normalise


def test_csv_with_common_column_names():
    frame, notes = read_upload(b"name,Latitude,LNG\nKidira,14.4567,-12.2166\n", "v.csv")
    assert frame.crs.to_epsg() == 4326 and notes == []
    assert (frame.geometry.x[0], frame.geometry.y[0]) == (-12.2166, 14.4567)
    assert list(frame.columns) == ["name", "geometry"]


def test_french_excel_csv():
    data = "nom;pays;latitude;longitude\nDiboli;Mali;14,457;-12,2006\n".encode("cp1252")
    frame, _ = read_upload(data, "villages.csv")
    assert frame.geometry.y[0] == pytest.approx(14.457) and frame["nom"][0] == "Diboli"


def test_tsv_and_explicit_columns():
    frame, _ = read_upload(b"id\tnorth\teast\n1\t14.1\t-12.1\n", "v.tsv",
                           columns=ColumnChoice(lat_col="north", lon_col="east"))
    assert frame.geometry.x[0] == -12.1


@pytest.mark.parametrize("data, filename, message", [
    (b"", "v.csv", "empty"),
    (b"name,lat\nA,14\n", "v.csv", r"no location found: .* Columns of the file: name, lat"),
    (b"name,lat,lon\nA,14,-12\nB,,-12\nC,x,-12\n", "v.csv", "rows 3, 4 have no numeric lat/lon"),
    (b"a", "v.ods", "unknown file type .ods"),
    (b"{not json", "v.geojson", "cannot read as GeoJSON"),
    (b'{"type": "FeatureCollection", "features": []}', "v.geojson", "no features"),
    (b"PK-not-a-zip", "v.zip", "not a valid zip"),
])
def test_clear_errors(data, filename, message):
    with pytest.raises(IngestError, match=message):
        read_upload(data, filename)


def test_explicit_column_that_does_not_exist():
    with pytest.raises(IngestError, match="no column 'north'; columns: name, lat, lon"):
        read_upload(b"name,lat,lon\nA,14,-12\n", "v.csv", columns=ColumnChoice(lat_col="north"))


def test_swapped_coordinates_are_refused_with_a_hint():
    with pytest.raises(IngestError, match="features 1, 2.*are the two columns swapped"):
        read_upload(b"name,lat,lon\nA,-12.2,14.45\nB,-12.1,14.3\n", "v.csv")


def test_points_far_away_are_refused_unless_allowed():
    data = b"name,lat,lon\nParis,48.85,2.35\n"
    with pytest.raises(IngestError, match="outside the service's area.*If these places are right"):
        read_upload(data, "v.csv")
    frame, _ = read_upload(data, "v.csv", extent=None)
    assert len(frame) == 1
    assert len(read_upload(data, "v.csv", extent=Extent(-10, 40, 10, 60))[0]) == 1


def test_projected_crs_is_reprojected():
    utm = gpd.GeoDataFrame({"name": ["Kidira"]}, geometry=[Point(-12.2166, 14.4567)], crs="EPSG:4326").to_crs(32628)
    frame, notes = read_upload(write_format(utm, "v", "gpkg"), "v.gpkg")
    assert [str(n) for n in notes] == ["v.gpkg: reprojected from EPSG:32628 to EPSG:4326"]
    assert frame.geometry.x[0] == pytest.approx(-12.2166, abs=1e-6)


def test_metres_without_a_crs_are_refused(tmp_path):
    # A Shapefile in UTM metres whose .prj was lost: no CRS, coordinates far beyond degrees.
    import pyogrio

    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(500000, 1600000)]),
                                tmp_path / "utm.shp", driver="ESRI Shapefile")
    data = zipped({f"utm{s}": (tmp_path / f"utm{s}").read_bytes() for s in (".shp", ".shx", ".dbf")})
    with pytest.raises(IngestError, match="not degrees and the file declares no CRS. Export it as WGS84"):
        read_upload(data, "utm.zip")


def zipped(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("members, message", [
    ({"../evil.shp": b"x"}, "unsafe path"), ({"/abs/evil.shp": b"x"}, "unsafe path"),
    ({"readme.txt": b"x"}, "no .shp file"), ({f"f{i}.txt": b"" for i in range(70)}, "at most 64"),
])
def test_zip_archives_are_checked_before_reading(members, message):
    with pytest.raises(IngestError, match=message):
        read_upload(zipped(members), "layer.zip")


def test_zipped_shapefile_round_trip():
    frame = gpd.GeoDataFrame({"name": ["Kidira"]}, geometry=[Point(-12.2166, 14.4567)], crs="EPSG:4326")
    back, _ = read_upload(write_format(frame, "sites", "shp.zip"), "sites.zip")
    assert back["name"][0] == "Kidira"


def test_normalise_columns_countries_population_and_polygons():
    frame = gpd.GeoDataFrame({"Nom": ["A", "B", "C"], "Pays": ["Sénégal", "mali", "SN"],
                              "habitants": ["1 200", "n/a", None]},
                             geometry=[Point(-12, 14), Point(-12, 14.1),
                                       Polygon([(-12, 14), (-11.9, 14), (-11.9, 14.1)])], crs="EPSG:4326")
    out, notes = normalise(frame, "f.geojson")
    assert out["country"].tolist() == ["SN", "ML", "SN"]
    assert out["population"].iloc[0] == 1200 and out["population"].isna().tolist() == [False, True, True]
    assert (out.geom_type == "Point").all()
    assert any("1 population values are not numbers" in str(n) for n in notes)
    assert any("Polygon features replaced by a point inside each" in str(n) for n in notes)


def test_from_upload_reads_and_normalises():
    analysis_input = from_upload(b"village,country_by_survey,lat,lon\nX,ML,14,-12\n", "s.csv", Extent())
    frame = analysis_input.frame
    assert frame["name"].tolist() == ["X"] and frame["country"].tolist() == ["ML"]
    assert frame["village"].tolist() == ["X"]  # the file's own column is kept (to join back)
