"""A proximity report as one Excel workbook: a sheet per table, headers and values in the reader's language.

Written with XlsxWriter, which is made for writing: for 10,000 communities
openpyxl (which reads the users' workbooks) took 7.1 s, 5.5 s with lxml;
XlsxWriter 3.8 s, table building included (bench/report_files_bench.py).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
import xlsxwriter

from geo_service.analysis import tables
from geo_service.analysis.report import ProximityReport
from geo_service.analysis.report_text import text
from geo_service.io.writers import neutralise_formula


def _cell_value(value: object) -> object:
    if tables.is_missing(value):
        return None
    if hasattr(value, "item"):  # numpy scalars: Excel takes Python numbers
        value = value.item()
    return neutralise_formula(value) if isinstance(value, str) else value


def _write_sheet(workbook: xlsxwriter.Workbook, title: str, frame: pd.DataFrame, bold) -> None:
    sheet = workbook.add_worksheet(title[:31])
    sheet.write_row(0, 0, [neutralise_formula(str(c)) for c in frame.columns], bold)
    for number, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        for column, value in enumerate(row):
            value = _cell_value(value)
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(number, column, value)  # never read as a formula or a number
            else:
                sheet.write(number, column, value)
    sheet.freeze_panes(1, 0)
    if len(frame.columns):
        sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def xlsx_bytes(report: ProximityReport, lang: str = "en", walk_kmh: float = tables.WALK_KMH_DEFAULT,
               sources: Sequence[str] = (), store=None) -> bytes:
    """Communities, summary, underserved, cross-border and method sheets; numbers stay numbers."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    _write_sheet(workbook, text("sheet_communities", lang), tables.communities_table(report, lang, walk_kmh), bold)
    _write_sheet(workbook, text("sheet_summary", lang), tables.summary_table(report, lang), bold)
    _write_sheet(workbook, text("sheet_underserved", lang), tables.underserved_table(report, lang), bold)
    _write_sheet(workbook, text("sheet_cross_border", lang), tables.cross_border_table(report, lang), bold)
    if report.scenarios:
        _write_sheet(workbook, text("sheet_seasons", lang), tables.seasons_table(report, lang), bold)
    if report.population_grid:
        _write_sheet(workbook, text("sheet_grid", lang), tables.grid_table(report, lang), bold)
    if report.areas:
        _write_sheet(workbook, text("sheet_areas", lang).format(level=report.areas["level"]),
                     tables.areas_table(report, lang), bold)
    method = tables.method_lines(report, lang, walk_kmh, sources, store)
    _write_sheet(workbook, text("sheet_method", lang), pd.DataFrame({text("title", lang): method}), bold)
    workbook.close()
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
