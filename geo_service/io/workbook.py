"""Excel workbooks (.xlsx, as KoboToolbox and ODK export them) read as tables of text, bounded as they stream."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time

import pandas as pd

from geo_service.config import InputLimits
from geo_service.io.bounds import IngestError, at_least, check_counts, over_limit
from geo_service.io.containers import check_archive
from geo_service.i18n import Text
from geo_service.io.field_exports import has_location

XLSX_MAX_MEMBERS = 1000  # a workbook is a zip of many small parts


def _text(value) -> str | None:
    """A cell as the text a CSV export would hold (whole numbers without '.0', dates in ISO 8601)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def _sheet_table(sheet, filename: str, limits: InputLimits) -> pd.DataFrame:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    width = len(header)
    while width and header[width - 1] is None:  # Excel pads rows with empty cells
        width -= 1
    check_counts(filename, limits, properties=max(width - 2, 0) + 1)
    names = [_text(cell) or f"column_{number}" for number, cell in enumerate(header[:width], start=1)]
    records = []
    for record in rows:
        if any(cell is not None for cell in record[width:]):
            raise IngestError(Text("error", "{file}: row {row} of sheet {sheet} has values beyond the header's "
                                   "{width} columns", {"file": filename, "row": len(records) + 2,
                                                       "sheet": repr(sheet.title), "width": width}))
        cells = [_text(cell) for cell in record[:width]]
        if any(cell is not None for cell in cells):
            records.append(cells + [None] * (width - len(cells)))
        if len(records) > limits.features:
            raise over_limit(filename, "features", at_least(len(records)), limits.features, "MAX_FEATURES")
    return pd.DataFrame(records, columns=names, dtype="string").astype(object).where(lambda t: t.notna(), None)


def read_workbook(data: bytes, filename: str, limits: InputLimits) -> tuple[pd.DataFrame, str, list[str]]:
    """The table of the first sheet that has a location (else the first sheet), its name and the others'."""
    from openpyxl import load_workbook  # defusedxml, when installed, guards openpyxl's XML parsing

    try:
        check_archive(zipfile.ZipFile(io.BytesIO(data)), filename, limits, XLSX_MAX_MEMBERS)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise IngestError(Text("error", "{file}: not a readable Excel workbook (.xlsx): {problem}",
                               {"file": filename, "problem": str(exc)[:200]})) from None
    try:
        names = workbook.sheetnames
        tables = {}
        for name in names:
            tables[name] = _sheet_table(workbook[name], filename, limits)
            if has_location(tables[name]):
                return tables[name], name, [n for n in names if n != name]
        if not names:
            raise IngestError(Text("error", "{file}: the workbook has no sheet", {"file": filename}))
        return tables[names[0]], names[0], names[1:]
    finally:
        workbook.close()
