"""A proximity report on one printable A4 page (PDF), in English or French, made fully offline.

The map image is drawn with matplotlib (communities coloured by band, the
health facilities, the border and the rivers from the store); ReportLab lays
out the page. Text uses the DejaVu Sans font shipped with matplotlib, which
has every accented letter. The whole content is shrunk to fit when a report
has many countries or bands, so the page count is always one.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on a server

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.lib.units import cm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    Image,
    KeepInFrame,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from geo_service.analysis import tables  # noqa: E402
from geo_service.analysis.coverage import NO_SERVICE, band_labels  # noqa: E402
from geo_service.analysis.report import ProximityReport, table  # noqa: E402
from geo_service.analysis.report_text import text  # noqa: E402
from geo_service.errors import GeoServiceError  # noqa: E402

BAND_COLOURS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#a50026", "#67001f"]  # as on the page
NO_SERVICE_COLOUR = "#777777"
UNDERSERVED_PRINTED = 8
_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
def _t(key: str, lang: str) -> str:
    return text(f"page_{key}", lang)


def _fonts() -> tuple[str, str]:
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(_FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_FONT_DIR / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def _colour(index: float, count: int) -> str:
    if pd.isna(index) or index < 0:
        return NO_SERVICE_COLOUR
    step = (len(BAND_COLOURS) - 1) / max(count - 1, 1)
    return BAND_COLOURS[round(min(index, count - 1) * step)]


def _context_layer(store, layer_id: str):
    try:
        return store.read(layer_id) if store is not None and layer_id in store.catalogue else None
    except GeoServiceError:
        return None  # an unavailable layer is left off the map, not the report


def map_png(report: ProximityReport, store, lang: str, size_in: tuple[float, float] = (7.2, 3.9)) -> bytes:
    """The communities coloured by band, the facilities, the border and the rivers."""
    results = report.results
    count = len(report.bands_km) + 1
    figure, axes = plt.subplots(figsize=size_in, dpi=150)
    try:
        handles = []
        for layer_id, colour, width, label in (("rivers", "#3b7dd8", 0.8, _t("rivers", lang)),
                                               ("border", "#c0392b", 1.4, _t("border", lang))):
            frame = _context_layer(store, layer_id)
            if frame is not None and len(frame):
                frame.plot(ax=axes, color=colour, linewidth=width, zorder=1)
                handles.append(Line2D([], [], color=colour, linewidth=width, label=label))
        services = report.services
        axes.scatter(services.geometry.x, services.geometry.y, s=10, c="white", edgecolors="black", linewidths=0.6,
                     zorder=2)
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="black",
                              label=_t("facilities", lang)))
        index = results["band_index"] if "band_index" in results.columns else pd.Series(-1, index=results.index)
        axes.scatter(results.geometry.x, results.geometry.y, s=14, c=[_colour(i, count) for i in index],
                     edgecolors="#222222", linewidths=0.3, zorder=3)
        for i, label in enumerate(tables.band_text(b, lang) for b in _band_labels(report)):
            colour = _colour(i if i < count else -1, count)
            handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=colour,
                                  markeredgecolor="#222222", label=label))
        west, south, east, north = results.total_bounds
        pad = max(east - west, north - south, 0.2) * 0.08
        axes.set_xlim(west - pad, east + pad)
        axes.set_ylim(south - pad, north + pad)
        axes.set_aspect(1 / max(0.2, math.cos(math.radians((south + north) / 2))))  # degrees look square
        axes.tick_params(labelsize=6)
        axes.set_xlabel("")  # geopandas labels the axes from the CRS, in English; the ticks say enough
        axes.set_ylabel("")
        axes.legend(handles=handles, fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def _band_labels(report: ProximityReport) -> list[str]:
    return band_labels(report.bands_km) + [NO_SERVICE]


def _table(rows: list[list], font: str, bold: str, widths: Sequence[float] | None = None) -> Table:
    style = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9)
    cells = [[Paragraph(str(v), style) if isinstance(v, str) else v for v in row] for row in rows]
    result = Table(cells, colWidths=widths, repeatRows=1)
    result.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
    return result


def _number(value, lang: str) -> str:
    if tables.is_missing(value):
        return text("unknown", lang)
    text_value = f"{int(value):,}"
    return text_value.replace(",", "\u202f") if lang == "fr" else text_value


def pdf_bytes(report: ProximityReport, store, lang: str = "en", walk_kmh: float = tables.WALK_KMH_DEFAULT,
              sources: Sequence[str] = (), day: date | None = None) -> bytes:
    """The one-page report: title, date, inputs, map, summary, underserved, cross-border effect, method."""
    font, bold = _fonts()
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=18, spaceAfter=2)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=10, leading=12, spaceBefore=5, spaceAfter=2)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10)
    small = ParagraphStyle("small", fontName=font, fontSize=6.5, leading=8, textColor=colors.HexColor("#333333"))
    story = [Paragraph(text("title", lang), h1),
             Paragraph(_t("made", lang).format(day=(day or date.today()).isoformat()) + " "
                       + text("method_inputs", lang).format(**tables.input_names(report, store, lang)), body),
             Spacer(1, 4), Image(io.BytesIO(map_png(report, store, lang)), width=18 * cm, height=9.75 * cm)]
    summary = tables.summary_table(report, lang)
    story += [Paragraph(_t("summary", lang), h2),
              _table([list(summary.columns)] + [[_cell(v, lang) for v in row] for row in summary.itertuples(index=False)],
                     font, bold)]
    worst = table(report.underserved).head(UNDERSERVED_PRINTED)
    if len(worst):
        head = [tables.header(c, lang) for c in ("label", "country", "population", "distance_m", "service_name")]
        rows = [[row.label, row.country if "country" in worst.columns else "", _number(row.population, lang),
                 "—" if pd.isna(row.distance_m) else _number(row.distance_m, lang), row.service_name or "—"]
                for row in worst.itertuples()]
        story += [Paragraph(_t("underserved", lang), h2), _table([head] + rows, font, bold)]
        if len(report.underserved) > UNDERSERVED_PRINTED:
            story.append(Paragraph(_t("more", lang).format(n=len(report.underserved) - UNDERSERVED_PRINTED), small))
    if report.cross_border:
        cross = report.cross_border
        story += [Paragraph(_t("cross_border", lang), h2), Paragraph(_t("cross_sentence", lang).format(
            moving=cross["communities_moving_closer"], total=cross["communities"],
            population=_number(cross["population_moving_closer"], lang)), body)]
    if report.scenarios:
        seasons = tables.seasons_table(report, lang)
        story += [Paragraph(_t("seasons", lang), h2),
                  _table([list(seasons.columns)] + [[_cell(v, lang) for v in row]
                                                     for row in seasons.itertuples(index=False)], font, bold)]
    story += [Paragraph(_t("method", lang), h2)]
    story += [Paragraph(line, small) for line in tables.method_lines(report, lang, walk_kmh, sources, store)]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=1.4 * cm, rightMargin=1.4 * cm,
                                 topMargin=1.2 * cm, bottomMargin=1.2 * cm, title=text("title", lang))
    frame_w, frame_h = A4[0] - 2.8 * cm, A4[1] - 2.4 * cm - 12
    document.build([KeepInFrame(frame_w, frame_h, story, mode="shrink")])
    return buffer.getvalue()


def _cell(value, lang: str):
    if isinstance(value, (int, float)) or hasattr(value, "item"):
        return _number(value, lang)
    return "" if tables.is_missing(value) else str(value)
