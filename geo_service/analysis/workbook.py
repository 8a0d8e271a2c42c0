"""A proximity report as one Excel workbook: a sheet per table, headers and values in the reader's language."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from geo_service.analysis import tables
from geo_service.analysis.report_text import text
from geo_service.io.formats import neutralise_formula
from geo_service.proximity_report import ProximityReport


def _cell_value(value: object) -> object:
    if tables.is_missing(value):
        return None
    if hasattr(value, "item"):  # numpy scalars: Excel takes Python numbers
        value = value.item()
    return neutralise_formula(value) if isinstance(value, str) else value


def _write_sheet(workbook: Workbook, title: str, frame: pd.DataFrame) -> None:
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)
    header = []
    for column in frame.columns:
        cell = WriteOnlyCell(sheet, value=neutralise_formula(str(column)))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_cell_value(v) for v in row])
    sheet.freeze_panes = "A2"


def xlsx_bytes(report: ProximityReport, lang: str = "en", walk_kmh: float = tables.WALK_KMH_DEFAULT,
               sources: Sequence[str] = (), store=None) -> bytes:
    """Communities, summary, underserved, cross-border and method sheets; numbers stay numbers."""
    workbook = Workbook(write_only=True)
    _write_sheet(workbook, text("sheet_communities", lang), tables.communities_table(report, lang, walk_kmh))
    _write_sheet(workbook, text("sheet_summary", lang), tables.summary_table(report, lang))
    _write_sheet(workbook, text("sheet_underserved", lang), tables.underserved_table(report, lang))
    _write_sheet(workbook, text("sheet_cross_border", lang), tables.cross_border_table(report, lang))
    method = tables.method_lines(report, lang, walk_kmh, sources, store)
    _write_sheet(workbook, text("sheet_method", lang), pd.DataFrame({text("title", lang): method}))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_csv_bytes(report: ProximityReport, lang: str = "fr", walk_kmh: float = tables.WALK_KMH_DEFAULT) -> bytes:
    """The communities table for Excel in French settings: ';' between cells, decimal commas, a byte-order mark."""
    frame = tables.communities_table(report, lang, walk_kmh)
    frame = frame.rename(columns=lambda c: neutralise_formula(str(c)))
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(neutralise_formula, na_action="ignore")
    unknown = text("unknown", lang)
    population = tables.header("population", lang)
    frame[population] = frame[population].astype("string").fillna(unknown)
    decimal = "," if lang == "fr" else "."
    separator = ";" if lang == "fr" else ","
    return frame.to_csv(index=False, sep=separator, decimal=decimal, lineterminator="\r\n").encode("utf-8-sig")
