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
    N_('report:col_walk_minutes', "walking time, estimate (min)"),
    N_('report:col_band', "distance band"),
    N_('report:col_first_contact_service_name', "nearest first-contact facility"),
    N_('report:col_first_contact_distance_m', "distance to first contact (m)"),
    N_('report:col_referral_service_name', "nearest referral facility (referral centre, hospital)"),
    N_('report:col_referral_distance_m', "distance to referral (m)"),
    N_('report:col_own_country_service', "nearest in own country"),
    N_('report:col_own_country_distance_m', "distance in own country (m)"),
    N_('report:col_own_country_band', "band in own country"),
    N_('report:col_moves_closer', "closer across the border"),
    N_('report:col_lat', "latitude"),
    N_('report:col_lon', "longitude"),
    N_('report:sheet_communities', "Communities"),
    N_('report:sheet_summary', "Summary"),
    N_('report:sheet_underserved', "Underserved"),
    N_('report:sheet_cross_border', "Cross-border"),
    N_('report:sheet_method', "Method and sources"),
    N_('report:title', "Distance to health facilities"),
    N_('report:method_distance', "Distances are geodesic, in metres on the WGS84 ellipsoid, from each community to the nearest health facility in a straight line; real paths are longer."),
    N_('report:method_bands', "Distance bands (km): {bands}."),
    N_('report:method_unknown', "A population that is not known stays unknown: it is never counted as 0."),
    N_('report:method_walk', "Walking time is an estimate at {kmh} km/h along the straight line; {hour_km} km is about one hour's walk (the WHO/Sphere one-hour standard)."),
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
