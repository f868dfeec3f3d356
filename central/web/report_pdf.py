"""The monthly report as a printable PDF of real text (design §5.15): per province, then per commune.

Drawn with fpdf2 in DejaVu Sans (Debian's fonts-dejavu-core), so every word is
text a reader can search and copy (``pdftotext`` reads it back), Vietnamese
first and English beside. The figures are :func:`central.web.reports.monthly_rows`.
"""

from __future__ import annotations

import time
from pathlib import Path

from central.messages import CATALOGUE
from central.web.reports import monthly_totals

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
MARGIN = 12.0  # mm
# (column key, its heading, width mm) of each table; the place column is the province or commune.
COLUMNS = (("month", CATALOGUE["report.col.month"], 18), ("place", None, 52),
           ("stations", CATALOGUE["report.col.stations"], 16), ("pages", CATALOGUE["report.col.pages"], 20),
           ("record_files", CATALOGUE["report.col.record_files"], 20),
           ("documents", CATALOGUE["report.col.documents"], 20),
           ("quality_share", CATALOGUE["report.col.quality"], 20),
           ("backlog_last", CATALOGUE["report.col.backlog"], 18),
           ("climate_worst", CATALOGUE["report.col.climate"], 22),
           ("alert_days", CATALOGUE["report.col.alert_days"], 20), ("by_type", CATALOGUE["report.col.by_type"], 47))


def _fonts(pdf) -> str:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").exists() and (folder / "DejaVuSans-Bold.ttf").exists():
            pdf.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
            pdf.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
            return "DejaVu"
    raise ValueError("DejaVu Sans not found (Debian package fonts-dejavu-core): the report needs its diacritics")


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    if key == "quality_share":
        return "—" if value is None else f"{value:.0%}"
    if key == "by_type":
        unknown = CATALOGUE["report.type_unknown"].vi
        return "; ".join(f"{t or unknown}: {n}" for t, n in sorted(value.items(), key=lambda kv: -kv[1]))
    return "—" if value in (None, "") else str(value)


def _table(pdf, font: str, rows: list[dict], place_key: str, place) -> None:
    heads = [(m.vi, m.en) for m in (msg or place for _, msg, _ in COLUMNS)]
    pdf.set_font(font, "B", 7)
    pdf.set_fill_color(234, 240, 246)
    x, y = pdf.get_x(), pdf.get_y()
    # The header row is as tall as its tallest cell (a long name wraps); each cell drawn at that height.
    h = max(pdf.multi_cell(w, 3.6, f"{vi}\n{en}", dry_run=True, output="HEIGHT")
            for (vi, en), (_, _, w) in zip(heads, COLUMNS))
    for (vi, en), (_, _, w) in zip(heads, COLUMNS):
        pdf.rect(x, y, w, h, style="DF")
        pdf.set_xy(x, y)
        pdf.multi_cell(w, 3.6, f"{vi}\n{en}", new_x="RIGHT", new_y="TOP")
        x += w
    pdf.set_xy(MARGIN, y + h)
    pdf.set_font(font, "", 7)
    for r in rows:
        if pdf.get_y() > pdf.h - 2 * MARGIN:
            pdf.add_page()
        cells = [(_cell(r, key if key != "place" else place_key), w) for key, _, w in COLUMNS]
        for text, w in cells:
            pdf.cell(w, 5, text[:60] if w < 40 else text[:110], border=1)
        pdf.ln(5)


def monthly_pdf(rows: list[dict], *, month: str = "") -> bytes:
    """The report of *rows* (all months, or only *month* ``YYYY-MM``) as PDF bytes.

    Raises
    ------
    ValueError
        When the DejaVu Sans fonts are missing.
    """
    from fpdf import FPDF

    if month:
        rows = [r for r in rows if r["month"] == month]
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, MARGIN)
    title = CATALOGUE["report.title"]
    pdf.set_title(f"{title.vi} / {title.en}")
    pdf.set_creator("sohoa")
    font = _fonts(pdf)
    pdf.add_page()
    pdf.set_font(font, "B", 15)
    pdf.multi_cell(0, 7, f"{title.vi} / {title.en}" + (f" — {month}" if month else ""), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.set_font(font, "", 8)
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    pdf.multi_cell(0, 4.5, CATALOGUE["report.made"].format(at=made).text, new_x="LMARGIN", new_y="NEXT")
    if not rows:
        pdf.ln(4)
        pdf.set_font(font, "", 10)
        pdf.multi_cell(0, 6, CATALOGUE["report.no_data"].text, new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
    for key, place, heading in (("province", CATALOGUE["report.col.province"], CATALOGUE["report.by_province"]),
                                ("commune", CATALOGUE["report.col.commune"], CATALOGUE["report.by_commune"])):
        pdf.ln(3)
        pdf.set_font(font, "B", 11)
        pdf.multi_cell(0, 6, heading.text, new_x="LMARGIN", new_y="NEXT")
        _table(pdf, font, monthly_totals(rows, key), key, place)
    return bytes(pdf.output())
