"""Small validating parsers of query arguments (bbox, limit, offset, flags), shared by the web routes."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from geo_service.errors import InvalidParameterError
from geo_service.i18n import Text

Bbox = tuple[float, float, float, float]


def parse_bbox(raw: str, across_antimeridian: bool = False) -> Bbox:
    """``minlon,minlat,maxlon,maxlat`` (or 6 numbers with heights) in WGS84 degrees; ``across_antimeridian``:
    a box whose west edge is east of its east edge crosses 180° (OGC API – Features), else it is refused."""
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameterError(Text("error", "bbox must be 4 numbers (minlon,minlat,maxlon,maxlat) or 6 with heights; got {count}", {"count": len(parts)}))
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameterError(Text("error", "bbox must hold numbers only, got {value}", {"value": repr(raw)})) from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidParameterError(Text("error", "bbox values must be finite numbers, got {value}", {"value": repr(raw)}))
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    minlon, minlat, maxlon, maxlat = values
    if not (-90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise InvalidParameterError(Text("error", "bbox latitudes must be between -90 and 90, got {low} and {high}", {"low": minlat, "high": maxlat}))
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180):
        raise InvalidParameterError(Text("error", "bbox longitudes must be between -180 and 180, got {low} and {high}", {"low": minlon, "high": maxlon}))
    if minlat > maxlat:
        raise InvalidParameterError(Text("error", "bbox minimum latitude {low} is above its maximum {high}", {"low": minlat, "high": maxlat}))
    if minlon > maxlon and not across_antimeridian:
        raise InvalidParameterError(Text("error", "bbox crossing the antimeridian (minlon > maxlon) is not supported"))
    return minlon, minlat, maxlon, maxlat


def parse_int(raw: str | None, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """A whole number within [minimum, maximum]; values above the maximum are clamped to it."""
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]{1,18}", raw):  # ASCII digits only ("²".isdigit() is true)
        raise InvalidParameterError(Text("error", "{name} must be a whole number, got {value}", {"name": name, "value": repr(raw)}))
    value = int(raw)
    if value < minimum:
        raise InvalidParameterError(Text("error", "{name} must be {minimum} or more, got {value}", {"name": name, "minimum": minimum, "value": value}))
    return min(value, maximum) if maximum is not None else value


def parse_flag(raw: str | None, name: str) -> bool:
    if raw is None or raw.lower() in ("", "0", "false", "no"):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    raise InvalidParameterError(Text("error", "{name} must be true or false, got {value}", {"name": name, "value": repr(raw)}))


def reject_unknown(args: Iterable[str], allowed: Iterable[str]) -> None:
    """Unknown query parameters are an error (a typo should not silently return everything)."""
    allowed = set(allowed)
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise InvalidParameterError(
            Text("error", "unknown query parameter(s): {unknown}; allowed: {allowed}",
                 {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))}),
            details={"unknown": unknown})


def single_values(args: Mapping[str, list[str]]) -> dict[str, str]:
    """Each parameter once: a repeated parameter is ambiguous and refused."""
    repeated = sorted(k for k, v in args.items() if len(v) > 1)
    if repeated:
        raise InvalidParameterError(Text("error", "parameter(s) given more than once: {names}", {"names": ", ".join(repeated)}))
    return {k: v[0] for k, v in args.items()}
