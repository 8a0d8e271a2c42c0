"""Inputs of a proximity analysis: a catalogue layer or an uploaded file, as points with
``name``, ``country`` (ISO alpha-2) and ``population`` columns where the data has them."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from geo_service.analysis.areas import AdminAreas, choose_level, read_areas
from geo_service.analysis.barriers import DEFAULT_TOLERANCE_M
from geo_service.analysis.coverage import parse_bands
from geo_service.analysis.nearest import ProximityError
from geo_service.analysis.population import DEFAULT_RADIUS_KM
from geo_service.analysis.scenarios import (
    WALK_DETOUR,
    BarrierSetup,
    barrier_lines,
    read_crossings,
    split_selection,
)
from geo_service.config import Extent, InputLimits
from geo_service.errors import LayerNotFoundError
from geo_service.i18n import N_, Text
from geo_service.io.field_exports import ColumnChoiceError, plain, question_of
from geo_service.io.ingest import ColumnChoice, read_upload
from geo_service.params import parse_flag, reject_unknown
from geo_service.store import Store

# Headers compared loosely (field_exports.plain of the question name: no accents, group prefix or punctuation).
CANONICAL = {
    "name": ("name", "nom", "village", "localite", "community", "communaute", "facility", "nom_structure",
             "nom_du_village", "nom_village", "village_name", "nom_localite", "nom_de_la_localite", "settlement",
             "lieu", "nom_communaute", "site_name", "nom_site", "nom_de_la_communaute"),
    "country": ("country", "pays", "iso2", "country_code", "iso_a2", "countrycode", "code_pays"),
    "population": ("population", "pop", "habitants", "nombre_d_habitants", "nb_habitants", "nombre_habitants",
                   "population_totale", "population_total", "pop_total", "total_population", "taille_population"),
}
READING = {"communities": N_("stage", "reading the communities"),
           "services": N_("stage", "reading the health facilities")}
GIVE = {"communities": N_("error", "give the communities: a layer of the service or a file"),
        "services": N_("error", "give the health facilities: a layer of the service or a file")}
GIVE_ONCE = {"communities": N_("error", "give the communities once: a layer of the service or a file, not both"),
             "services": N_("error", "give the health facilities once: a layer of the service or a file, not both")}
READ_AS = {"name": N_("note", "{label}: column {column} read as the name"),
           "country": N_("note", "{label}: column {column} read as the country"),
           "population": N_("note", "{label}: column {column} read as the population")}
COUNTRY_NAMES = {"mali": "ML", "senegal": "SN", "sénégal": "SN", "guinea": "GN", "guinée": "GN",
                 "guinee": "GN", "mauritania": "MR", "mauritanie": "MR"}


@dataclass
class AnalysisInput:
    frame: gpd.GeoDataFrame  # canonical columns added (name, country, population); the input's own kept
    label: str  # the layer id or the file name
    notes: list[str] = field(default_factory=list)
    columns: pd.DataFrame | None = None  # the input's own columns as read, row for row (to join back)


def normalise(frame: gpd.GeoDataFrame, label: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Canonical column names, ISO country codes, numeric populations (unknown stays unknown), points."""
    notes: list[str] = []
    frame = frame.copy()
    lowered: dict[str, str] = {}
    for column in frame.columns:
        if column != frame.geometry.name:
            lowered.setdefault(plain(question_of(str(column))), column)
    roles = frame.attrs.get("roles", {})  # from an HXL row: #loc+name, #population, #country
    for canonical, names in CANONICAL.items():
        if canonical in frame.columns:
            continue
        found = roles.get(canonical) or next((lowered[n] for n in names if n in lowered), None)
        if found is None and canonical == "country":  # e.g. country_by_osm_borders: one column, not two
            near = [original for name, original in lowered.items() if "country" in name or "pays" in name]
            found = near[0] if len(near) == 1 else None
        if found is not None:  # a copy: the input's own column stays as it was
            frame[canonical] = frame[found]
            notes.append(Text.of(READ_AS[canonical], {"label": label, "column": repr(found)}))
    if "country" in frame.columns:
        text = frame["country"].astype("string").str.strip()
        frame["country"] = text.str.lower().map(COUNTRY_NAMES).fillna(text.str.upper())
    if "population" in frame.columns:
        raw = frame["population"]
        if pd.api.types.is_integer_dtype(raw) or pd.api.types.is_float_dtype(raw):  # read as numbers already
            numbers, odd = raw.astype("Int64" if pd.api.types.is_integer_dtype(raw) else "Float64"), 0
        else:
            numbers = pd.to_numeric(raw.astype("string").str.replace(" ", "", regex=False)
                                    .str.replace(",", ".", regex=False), errors="coerce")
            odd = int((numbers.isna() & raw.notna() & (raw.astype("string").str.strip() != "")).sum())
        if odd:
            notes.append(Text("note", "{label}: {count} population values are not numbers and count as unknown",
                              {"label": label, "count": odd}))
        frame["population"] = numbers
    if len(frame) and not (frame.geom_type == "Point").all():
        others = sorted(set(frame.geom_type) - {"Point"})
        frame = frame.set_geometry(frame.geometry.representative_point())
        notes.append(Text("note", "{label}: {kinds} features replaced by a point inside each",
                          {"label": label, "kinds": ", ".join(others)}))
    return frame, notes


def from_layer(store: Store, layer_id: str) -> AnalysisInput:
    try:
        frame = store.read(layer_id)
    except LayerNotFoundError as exc:
        raise ProximityError(exc.message) from None
    columns = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    frame, notes = normalise(frame, layer_id)
    return AnalysisInput(frame, layer_id, notes, columns)


def from_upload(data: bytes, filename: str, extent: Extent | None, limits: InputLimits = InputLimits(),
                columns: ColumnChoice = ColumnChoice()) -> AnalysisInput:
    frame, notes = read_upload(data, filename, extent=extent, limits=limits, columns=columns)
    derived = [c for c in ("location_accuracy_m", "location_imprecise") if c in frame.columns]  # ours, not theirs
    own = pd.DataFrame(frame.drop(columns=[frame.geometry.name, *derived]))
    frame, more = normalise(frame, filename)
    return AnalysisInput(frame, filename, notes + more, own)


RESULTS_PAGE = 10_000  # rows of one JSON answer, at most: its size and the map's load stay bounded


@dataclass(frozen=True)
class ProximityRequest:
    """What the form, the JSON API and the CLI ask for (files as (bytes, filename))."""

    communities: str | None
    services: str | None
    communities_file: tuple[bytes, str] | None
    services_file: tuple[bytes, str] | None
    bands_km: tuple[float, ...]
    max_distance_km: float | None
    same_country_only: bool
    allow_outside: bool
    columns: ColumnChoice
    output: str  # one of OUTPUTS
    excel: bool = False  # CSV for Excel: in French, ';' and decimal commas; always a byte-order mark
    walk_kmh: float = 5.0  # walking speed of the estimated walking time
    lang: str | None = None  # the form's language field, if any (else the page's or the browser's)
    save: bool = False  # keep the analysis behind a permanent link
    service_types: tuple[str, ...] = ()  # only facilities of these types (their 'type' column)
    levels: bool = False  # also the nearest first-contact and the nearest referral facility
    offset: int = 0  # the JSON answer's rows: from this one (0 = first) …
    limit: int = RESULTS_PAGE  # … this many at most (the files hold every row)
    barriers: str | None = None  # a line layer, or "layer:id,id" for some of its features
    barriers_file: tuple[bytes, str] | None = None
    crossings: str | None = None  # a point layer (default: the bundled 'crossings', when there are barriers)
    crossings_file: tuple[bytes, str] | None = None
    wet_unknown_open: bool = False  # a crossing of unknown season counts as open in the wet season
    crossing_tolerance_m: float = DEFAULT_TOLERANCE_M
    walk_detour: float = WALK_DETOUR
    admin: str | None = None  # administrative areas: a polygon layer …
    admin_file: tuple[bytes, str] | None = None  # … or a file (e.g. OCHA COD-AB boundaries)
    admin_level: str | None = None  # the level the summary groups by (adm1, adm2, …; default: the finest)
    population_file: tuple[bytes, str] | None = None  # a gridded population raster (GeoTIFF)
    population_radius_km: float = DEFAULT_RADIUS_KM  # an unknown population: the grid's people within this


OUTPUTS = ("json", "csv", "geojson", "parquet", "xlsx", "pdf")
FIELDS = frozenset({"communities", "services", "bands", "max_km", "same_country_only", "allow_outside",
                    "lat_col", "lon_col", "geopoint_col", "gps_accuracy_m", "format", "lang", "f", "excel",
                    "walk_kmh", "save", "service_types", "levels", "offset", "limit", "barriers", "crossings",
                    "wet_unknown", "crossing_tolerance_m", "walk_detour", "admin", "admin_level",
                    "population_radius_km"})
FILES = frozenset({"communities_file", "services_file", "barriers_file", "crossings_file", "admin_file",
                   "population_file"})
# Fields that shape the answer's form only: a saved result is opened in any of them.
PRESENTATION_FIELDS = frozenset({"format", "lang", "f", "excel", "save", "offset", "limit"})


def _number(values: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = values.get(name) or None
    try:
        number = default if raw is None else float(raw)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        raise ProximityError(Text("error", "{name} must be a number from {low} to {high}, got {value}",
                                  {"name": name, "low": f"{low:g}", "high": f"{high:g}", "value": repr(raw)}))
    return number


def _wet_unknown(raw: str | None) -> bool:
    if raw in (None, "", "closed"):
        return False
    if raw == "open":
        return True
    raise ProximityError(Text("error", "wet_unknown must be open or closed (is a crossing of unknown season open in "
                              "the wet season?), got {value}", {"value": repr(raw)}))


def _walk_kmh(raw: str | None) -> float:
    try:
        speed = 5.0 if not raw else float(raw)
    except ValueError:
        speed = -1.0
    if not 0.5 <= speed <= 20:
        raise ProximityError(Text("error", "walk_kmh must be a walking speed from 0.5 to 20 km/h, got {value}",
                                  {"value": repr(raw)}))
    return speed


def parse_page(values: dict[str, str], output: str) -> tuple[int, int]:
    """``offset`` and ``limit`` of the JSON answer's rows (the file outputs hold every row)."""
    raw = {name: values.get(name) or None for name in ("offset", "limit")}
    if output != "json" and any(raw.values()):
        raise ProximityError(Text("error", "offset and limit page the JSON answer; the {format} output holds every "
                                  "row", {"format": output}))
    offset = raw["offset"] or "0"
    limit = raw["limit"] or str(RESULTS_PAGE)
    if not (offset.isdigit() and len(offset) <= 9):
        raise ProximityError(Text("error", "offset must be a whole number from 0, got {value}",
                                  {"value": repr(raw["offset"])}))
    if not (limit.isdigit() and 1 <= int(limit) <= RESULTS_PAGE):
        raise ProximityError(Text("error", "limit must be a whole number from 1 to {maximum}, got {value}; the CSV, "
                                  "GeoJSON and GeoParquet outputs hold every row",
                                  {"maximum": RESULTS_PAGE, "value": repr(raw["limit"])}))
    return int(offset), int(limit)


def parse_column_choice(values: dict[str, str]) -> ColumnChoice:
    """Where the location is in an uploaded table (found from the file when not given), and the GPS bound."""
    raw = values.get("gps_accuracy_m") or None
    try:
        threshold = 100.0 if raw is None else float(raw)
    except ValueError:
        threshold = -1.0
    if not 0 < threshold < 100_000:
        raise ProximityError(Text("error", "gps_accuracy_m must be a number of metres above 0, got {value}",
                                  {"value": repr(raw)}))
    return ColumnChoice(values.get("lat_col") or None, values.get("lon_col") or None,
                        values.get("geopoint_col") or None, threshold)


def parse_request(values: dict[str, str], files: dict[str, tuple[bytes, str]]) -> ProximityRequest:
    """Validate the fields of a proximity request; each input is a layer id or an uploaded file."""
    reject_unknown(set(values) | set(files), FIELDS | FILES)
    for role in ("communities", "services"):
        if not values.get(role) and role + "_file" not in files:
            raise ProximityError(Text.of(GIVE[role], {}))
        if values.get(role) and role + "_file" in files:
            raise ProximityError(Text.of(GIVE_ONCE[role], {}))
    raw_max = values.get("max_km") or None
    try:
        max_km = None if raw_max is None else float(raw_max)
    except ValueError:
        raise ProximityError(Text("error", "max_km must be a number of km, got {value}", {"value": repr(raw_max)})) from None
    if max_km is not None and not (0 < max_km < 20_000):
        raise ProximityError(Text("error", "max_km must be between 0 and 20000 km, got {value}", {"value": repr(raw_max)}))
    output = values.get("format") or "json"
    if output not in OUTPUTS:
        raise ProximityError(Text("error", "format must be one of {allowed}, got {value}",
                                  {"allowed": ", ".join(OUTPUTS), "value": repr(output)}))
    offset, limit = parse_page(values, output)
    return ProximityRequest(
        communities=values.get("communities") or None, services=values.get("services") or None,
        communities_file=files.get("communities_file"), services_file=files.get("services_file"),
        bands_km=parse_bands(values.get("bands")), max_distance_km=max_km,
        same_country_only=parse_flag(values.get("same_country_only"), "same_country_only"),
        allow_outside=parse_flag(values.get("allow_outside"), "allow_outside"),
        columns=parse_column_choice(values), output=output, excel=parse_flag(values.get("excel"), "excel"),
        walk_kmh=_walk_kmh(values.get("walk_kmh")), lang=values.get("lang") or None,
        save=parse_flag(values.get("save"), "save"),
        service_types=tuple(t.strip() for t in (values.get("service_types") or "").split(",") if t.strip()),
        levels=parse_flag(values.get("levels"), "levels"), offset=offset, limit=limit,
        barriers=values.get("barriers") or None, barriers_file=files.get("barriers_file"),
        crossings=values.get("crossings") or None, crossings_file=files.get("crossings_file"),
        wet_unknown_open=_wet_unknown(values.get("wet_unknown")),
        crossing_tolerance_m=_number(values, "crossing_tolerance_m", DEFAULT_TOLERANCE_M, 0, 10_000),
        walk_detour=_number(values, "walk_detour", WALK_DETOUR, 1, 3),
        admin=values.get("admin") or None, admin_file=files.get("admin_file"),
        admin_level=values.get("admin_level") or None, population_file=files.get("population_file"),
        population_radius_km=_number(values, "population_radius_km", DEFAULT_RADIUS_KM, 0.05, 20),
    )


def load_inputs(store: Store, request: ProximityRequest, extent: Extent,
                limits: InputLimits = InputLimits(), deadline=None) -> tuple[AnalysisInput, AnalysisInput]:
    """Both inputs; uploads over ``limits`` are refused before they are read (bounds a request's work)."""
    loaded = []
    for role in ("communities", "services"):
        upload = getattr(request, role + "_file")
        if upload is not None:
            data, filename = upload
            try:
                loaded.append(from_upload(data, filename, None if request.allow_outside else extent, limits,
                                          columns=request.columns))
            except ColumnChoiceError as exc:
                exc.details["role"] = role  # the page asks for the columns of this file
                raise
        else:
            loaded.append(from_layer(store, getattr(request, role)))
        if deadline is not None:
            deadline.check(Text.of(READING[role], {}))
    return loaded[0], loaded[1]


def frame_of(store: Store, layer: str | None, upload: tuple[bytes, str] | None, extent: Extent | None,
              limits: InputLimits) -> tuple[gpd.GeoDataFrame, str]:
    if upload is not None:
        data, filename = upload
        return read_upload(data, filename, extent=extent, limits=limits)[0], filename
    try:
        return store.read(layer), layer
    except LayerNotFoundError as exc:
        raise ProximityError(exc.message) from None


def load_barriers(store: Store, request: ProximityRequest, extent: Extent | None,
                  limits: InputLimits = InputLimits()) -> BarrierSetup | None:
    """The barrier lines and their crossings, or None when the request names no barrier."""
    if request.barriers is None and request.barriers_file is None:
        if request.crossings or request.crossings_file:
            raise ProximityError(Text("error", "crossings are the ways through barriers: give barriers too"))
        return None
    if request.barriers and request.barriers_file:
        raise ProximityError(Text("error", "give the barriers once: a layer of the service or a file, not both"))
    if request.crossings and request.crossings_file:
        raise ProximityError(Text("error", "give the crossings once: a layer of the service or a file, not both"))
    layer, ids = split_selection(request.barriers) if request.barriers else (None, ())
    frame, label = frame_of(store, layer, request.barriers_file, extent, limits)
    lines = barrier_lines(frame, label, ids)
    label = request.barriers or label
    notes = []
    crossings_layer = request.crossings
    if crossings_layer is None and request.crossings_file is None:
        if "crossings" not in store.catalogue:
            notes.append(Text("note", "no crossings given: nothing crosses the barriers"))
            return BarrierSetup(lines, [], label, None, request.crossing_tolerance_m, request.wet_unknown_open, notes)
        crossings_layer = "crossings"
        notes.append(Text("note", "crossings: the bundled crossings layer"))
    frame, crossings_label = frame_of(store, crossings_layer, request.crossings_file, extent, limits)
    crossings = read_crossings(frame, crossings_label)
    unknown = [c.id for c in crossings if c.season == "unknown"]
    if unknown:
        notes.append(Text("note", "crossings of unknown season ({crossings}): open in the dry season and, as asked "
                          "(wet_unknown=open), in the wet season", {"crossings": ", ".join(unknown)})
                     if request.wet_unknown_open else
                     Text("note", "crossings of unknown season ({crossings}): open in the dry season, closed in the "
                          "wet season (unless wet_unknown=open)", {"crossings": ", ".join(unknown)}))
    return BarrierSetup(lines, crossings, label, crossings_label, request.crossing_tolerance_m,
                        request.wet_unknown_open, notes)


def load_areas(store: Store, request: ProximityRequest, extent: Extent | None,
               limits: InputLimits = InputLimits()) -> AdminAreas | None:
    """The administrative areas the results are summarised by, or None when the request names none."""
    if request.admin is None and request.admin_file is None:
        if request.admin_level:
            raise ProximityError(Text("error", "admin_level chooses a level of the administrative areas: give admin too"))
        return None
    if request.admin and request.admin_file:
        raise ProximityError(Text("error", "give the administrative areas once: a layer of the service or a file, "
                                  "not both"))
    frame, label = frame_of(store, request.admin, request.admin_file, extent, limits)
    areas = read_areas(frame, label)
    choose_level(areas, request.admin_level)  # an unknown level is refused before any work
    return areas
