"""English and French words of the proximity report files (XLSX, CSV for Excel, PDF).

Kept in one table so the translation catalogue (Babel, issue 11) can take them over whole.
"""

from __future__ import annotations

_TEXT: dict[str, tuple[str, str]] = {
    # (English, French)
    "no_service": ("no service in reach", "aucun service à portée"),
    "over": ("over", "plus de"),
    "yes": ("yes", "oui"),
    "no": ("no", "non"),
    "unknown": ("unknown", "inconnue"),
    "communities": ("communities", "localités"),
    "unknown_population": ("communities of unknown population", "localités de population inconnue"),
    "note": ("note", "remarque"),
    "source": ("source", "source"),
    "no_cross_border": ("no 'country' column in both inputs: the cross-border comparison is left out",
                        "pas de colonne « pays » dans les deux jeux de données : pas de comparaison transfrontalière"),
    "from_band": ("own country only", "pays de la localité seulement"),
    "to_band": ("any country", "tout pays"),
    "col_row": ("row", "ligne"),
    "col_label": ("community", "localité"),
    "col_id": ("id", "identifiant"),
    "col_name": ("name", "nom"),
    "col_country": ("country", "pays"),
    "col_population": ("population", "population"),
    "col_location_accuracy_m": ("GPS accuracy (m)", "précision GPS (m)"),
    "col_location_imprecise": ("imprecise GPS fix", "position GPS imprécise"),
    "col_service_id": ("nearest health facility id", "identifiant de l'établissement le plus proche"),
    "col_service_name": ("nearest health facility", "établissement de santé le plus proche"),
    "col_service_country": ("facility's country", "pays de l'établissement"),
    "col_distance_m": ("distance (m, straight line)", "distance (m, à vol d'oiseau)"),
    "col_walk_minutes": ("walking time, estimate (min)", "temps de marche estimé (min)"),
    "col_band": ("distance band", "tranche de distance"),
    "col_first_contact_service_name": ("nearest first-contact facility", "établissement de premier niveau le plus "
                                                                         "proche"),
    "col_first_contact_distance_m": ("distance to first contact (m)", "distance au premier niveau (m)"),
    "col_referral_service_name": ("nearest referral facility (referral centre, hospital)",
                                  "établissement de référence le plus proche (CSRef, hôpital)"),
    "col_referral_distance_m": ("distance to referral (m)", "distance à la référence (m)"),
    "col_own_country_service": ("nearest in own country", "le plus proche dans le pays"),
    "col_own_country_distance_m": ("distance in own country (m)", "distance dans le pays (m)"),
    "col_own_country_band": ("band in own country", "tranche dans le pays"),
    "col_moves_closer": ("closer across the border", "plus proche de l'autre côté de la frontière"),
    "col_lat": ("latitude", "latitude"),
    "col_lon": ("longitude", "longitude"),
    "sheet_communities": ("Communities", "Localités"),
    "sheet_summary": ("Summary", "Synthèse"),
    "sheet_underserved": ("Underserved", "Mal desservies"),
    "sheet_cross_border": ("Cross-border", "Transfrontalier"),
    "sheet_method": ("Method and sources", "Méthode et sources"),
    "title": ("Distance to health facilities", "Distance aux établissements de santé"),
    "method_distance": ("Distances are geodesic, in metres on the WGS84 ellipsoid, from each community to the "
                        "nearest health facility in a straight line; real paths are longer.",
                        "Les distances sont géodésiques, en mètres sur l'ellipsoïde WGS84, de chaque localité à "
                        "l'établissement de santé le plus proche à vol d'oiseau ; les chemins réels sont plus longs."),
    "method_bands": ("Distance bands (km): {bands}.", "Tranches de distance (km) : {bands}."),
    "method_unknown": ("A population that is not known stays unknown: it is never counted as 0.",
                       "Une population inconnue reste inconnue : elle n'est jamais comptée comme 0."),
    "method_walk": ("Walking time is an estimate at {kmh} km/h along the straight line; {hour_km} km is about one "
                  "hour's walk (the WHO/Sphere one-hour standard).",
                  "Le temps de marche est une estimation à {kmh} km/h à vol d'oiseau ; {hour_km} km font environ "
                  "une heure de marche (la norme d'une heure de l'OMS et de Sphère)."),
    # the printed page (pdf_report)
    "page_summary": ("Communities and population by distance band", "Localités et population par tranche de distance"),
    "page_underserved": ("Most populous underserved communities (beyond the last band)",
                  "Localités mal desservies les plus peuplées (au-delà de la dernière tranche)"),
    "page_cross_border": ("What care across the border changes", "Ce que change l'accès aux soins de l'autre côté"),
    "page_cross_sentence": ("{moving} of {total} communities move into a closer band (population {population}).",
                       "{moving} localités sur {total} passent dans une tranche plus proche (population "
                       "{population})."),
    "page_facilities": ("health facilities", "établissements de santé"),
    "page_border": ("Mali–Senegal border", "frontière Mali–Sénégal"),
    "page_rivers": ("rivers", "cours d'eau"),
    "page_method": ("Method", "Méthode"),
    "page_made": ("Made on {day} with geo-service.", "Établi le {day} avec geo-service."),
    "page_more": ("… and {n} more (see the XLSX workbook)", "… et {n} de plus (voir le classeur XLSX)"),
    "method_inputs": ("Communities: {communities}. Health facilities: {services}.",
                      "Localités : {communities}. Établissements de santé : {services}."),
}


def text(key: str, lang: str, default: str | None = None) -> str:
    """The text of ``key`` in ``lang`` (``fr``, else English); ``default`` when there is none."""
    pair = _TEXT.get(key)
    if pair is None:
        if default is None:
            raise KeyError(key)
        return default
    return pair[1] if lang == "fr" else pair[0]
