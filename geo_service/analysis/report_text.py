"""English and French words of the proximity report files (XLSX, CSV for Excel, PDF).

The English is here, marked for extraction; the French is in the gettext catalogue (context ``report:<key>``).
"""

from __future__ import annotations

from geo_service.i18n import N_, translate

_TEXT: dict[str, str] = dict([  # key → English; French in the catalogue (context report:<key>)
    N_('report:no_service', "no service in reach"),
    N_('report:over', "over"),
    N_('report:yes', "yes"),
    N_('report:no', "no"),
    N_('report:unknown', "unknown"),
    N_('report:communities', "communities"),
    N_('report:unknown_population', "communities of unknown population"),
    N_('report:note', "note"),
    N_('report:source', "source"),
    N_('report:no_cross_border', "no 'country' column in both inputs: the cross-border comparison is left out"),
    N_('report:from_band', "own country only"),
    N_('report:to_band', "any country"),
    N_('report:col_row', "row"),
    N_('report:col_label', "community"),
    N_('report:col_id', "id"),
    N_('report:col_name', "name"),
    N_('report:col_country', "country"),
    N_('report:col_population', "population"),
    N_('report:col_location_accuracy_m', "GPS accuracy (m)"),
    N_('report:col_location_imprecise', "imprecise GPS fix"),
    N_('report:col_service_id', "nearest health facility id"),
    N_('report:col_service_name', "nearest health facility"),
    N_('report:col_service_country', "facility's country"),
    N_('report:col_distance_m', "distance (m, straight line)"),
    N_('report:col_walk_min', "walking time, estimate (min)"),
    N_('report:col_band', "distance band"),
    N_('report:col_first_contact_service_name', "nearest first-contact facility"),
    N_('report:col_first_contact_distance_m', "distance to first contact (m)"),
    N_('report:col_referral_service_name', "nearest referral facility (referral centre, hospital)"),
    N_('report:col_referral_distance_m', "distance to referral (m)"),
    N_('report:col_own_country_service', "nearest in own country"),
    N_('report:col_own_country_distance_m', "distance in own country (m)"),
    N_('report:col_own_country_band', "band in own country"),
    N_('report:col_moves_closer', "closer across the border"),
    N_('report:col_dry_service_id', "dry season: nearest facility id"),
    N_('report:col_dry_service_name', "dry season: nearest facility"),
    N_('report:col_dry_service_country', "dry season: facility's country"),
    N_('report:col_dry_distance_m', "dry season: route (m)"),
    N_('report:col_dry_crossing', "dry season: crossing used"),
    N_('report:col_dry_band', "dry season: band"),
    N_('report:col_dry_walk_min', "dry season: walking time (min)"),
    N_('report:col_wet_service_id', "wet season: nearest facility id"),
    N_('report:col_wet_service_name', "wet season: nearest facility"),
    N_('report:col_wet_service_country', "wet season: facility's country"),
    N_('report:col_wet_distance_m', "wet season: route (m)"),
    N_('report:col_wet_crossing', "wet season: crossing used"),
    N_('report:col_wet_band', "wet season: band"),
    N_('report:col_wet_walk_min', "wet season: walking time (min)"),
    N_('report:col_lat', "latitude"),
    N_('report:col_lon', "longitude"),
    N_('report:sheet_communities', "Communities"),
    N_('report:sheet_summary', "Summary"),
    N_('report:sheet_underserved', "Underserved"),
    N_('report:sheet_cross_border', "Cross-border"),
    N_('report:sheet_method', "Method and sources"),
    N_('report:sheet_seasons', "Seasons"),
    N_('report:sheet_areas', "By area ({level})"),
    N_('report:area_code', "area code (p-code)"),
    N_('report:area_name', "area"),
    N_('report:outside', "outside the areas given"),
    N_('report:season_none', "today (straight lines)"),
    N_('report:season_dry', "dry season"),
    N_('report:season_wet', "wet season"),
    N_('report:seasons_open', "crossings open"),
    N_('report:seasons_changed', "communities whose nearest facility or band changes from today"),
    N_('report:seasons_unreachable', "communities with no facility in reach"),
    N_('report:seasons_hour', "communities within one hour's walk"),
    N_('report:seasons_moving', "communities closer across the border"),
    N_('report:page_seasons', "Dry and wet season: the Falémé and its crossings"),
    N_('report:method_barriers', "Barriers: {barriers}; crossings: {crossings}. A route either does not meet a barrier line or goes through one crossing (from one bank point to the other); near a crossing's points ({tolerance} m) a route to it may meet the line, whose map is only that accurate. Dry season: every crossing; wet season: all-year crossings, and crossings of unknown season only if so asked ({unknown})."),
    N_('report:unknown_open', "counted open"),
    N_('report:unknown_closed', "counted closed"),
    N_('report:title', "Distance to health facilities"),
    N_('report:method_distance', "Distances are geodesic, in metres on the WGS84 ellipsoid, from each community to the nearest health facility in a straight line; real paths are longer."),
    N_('report:method_bands', "Distance bands (km): {bands}."),
    N_('report:method_unknown', "A population that is not known stays unknown: it is never counted as 0."),
    N_('report:method_walk', "Walking time is an estimate: the distance × {detour} (paths are longer than the straight line; circuity of about 1.2, Newell 1980) ÷ {kmh} km/h (AccessMod's walking speed on flat, open ground); {hour_km} km in a straight line is about one hour's walk. Where roads and land cover are known, AccessMod's travel time is the better measure."),
    N_('report:page_summary', "Communities and population by distance band"),
    N_('report:page_underserved', "Most populous underserved communities (beyond the last band)"),
    N_('report:page_cross_border', "What care across the border changes"),
    N_('report:page_cross_sentence', "{moving} of {total} communities move into a closer band (population {population})."),
    N_('report:page_facilities', "health facilities"),
    N_('report:page_border', "Mali–Senegal border"),
    N_('report:page_rivers', "rivers"),
    N_('report:page_method', "Method"),
    N_('report:page_made', "Made on {day} with geo-service."),
    N_('report:page_more', "… and {n} more (see the XLSX workbook)"),
    N_('report:method_inputs', "Communities: {communities}. Health facilities: {services}."),
])


def text(key: str, lang: str, default: str | None = None) -> str:
    """The text of ``key`` in ``lang`` (``fr``, else English); ``default`` when there is none."""
    english = _TEXT.get(f"report:{key}")
    if english is None:
        if default is None:
            raise KeyError(key)
        return default
    return translate(f"report:{key}", english, lang)
