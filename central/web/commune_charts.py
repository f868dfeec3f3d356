"""The commune page's quality-over-time and climate-rating sections (design §5.15): SVG charts and, beside
them, tables with the exact figures (what a screen reader reads and what staff copy).

The figures come from :mod:`central.web.commune_series`; every word from the
catalogue, looked up by literal code (design §1.1 M5).
"""

from __future__ import annotations

import html as htmllib
import types

from central.messages import CATALOGUE
from central.web import charts
from central.web.commune_series import quality_days, rating_days
from sync.catalogue import Message

# The station's page warnings (imaging warnings table) and hold reasons, as staff read them.
WARNINGS = types.MappingProxyType({
    "content_at_edge": CATALOGUE["page.qw.content_at_edge"], "crop_unsure": CATALOGUE["page.qw.crop_unsure"],
    "orientation_unsure": CATALOGUE["page.qw.orientation_unsure"], "blur": CATALOGUE["page.qw.blur"],
    "too_light": CATALOGUE["page.qw.too_light"], "low_contrast": CATALOGUE["page.qw.low_contrast"],
    "too_dark": CATALOGUE["page.qw.too_dark"], "low_resolution": CATALOGUE["page.qw.low_resolution"],
    "low_colour_depth": CATALOGUE["page.qw.low_colour_depth"],
    "page_size_change": CATALOGUE["page.qw.page_size_change"],
})
HOLDS = types.MappingProxyType({
    "coversheet_damaged": CATALOGUE["page.hold.coversheet_damaged"],
    "coversheet_twice": CATALOGUE["page.hold.coversheet_twice"],
    "separator_damaged": CATALOGUE["page.hold.separator_damaged"],
    "secret_stamp": CATALOGUE["page.hold.secret_stamp"], "filecode_used": CATALOGUE["page.hold.filecode_used"],
    "no_coversheet": CATALOGUE["page.hold.no_coversheet"],
    "needs_confirmation": CATALOGUE["page.hold.needs_confirmation"],
    "no_secret_key": CATALOGUE["page.hold.no_secret_key"], "low_dpi": CATALOGUE["page.hold.low_dpi"],
    "ocr_failed": CATALOGUE["page.hold.ocr_failed"], "build_failed": CATALOGUE["page.hold.build_failed"],
    "separator_moved": CATALOGUE["page.hold.separator_moved"],
})
RATING_WORDS = types.MappingProxyType({"good": CATALOGUE["page.rating_good"], "ok": CATALOGUE["page.rating_ok"],
                                       "risk": CATALOGUE["page.rating_risk"]})
# The station's climate alert kinds (design §7.6), as its heartbeat names them.
ALERTS = types.MappingProxyType({
    "t_high": CATALOGUE["page.alert.t_high"], "t_low": CATALOGUE["page.alert.t_low"],
    "rh_high": CATALOGUE["page.alert.rh_high"], "rh_low": CATALOGUE["page.alert.rh_low"],
    "mold": CATALOGUE["page.alert.mold"], "sensor": CATALOGUE["page.alert.sensor"],
})
# Why the archive refused a station's heartbeat (design §5.15, H3-H6), as heartbeat_events names it.
EVENTS = types.MappingProxyType({
    "forged_heartbeat": CATALOGUE["page.event.forged_heartbeat"],
    "stale_heartbeat": CATALOGUE["page.event.stale_heartbeat"],
    "replayed_heartbeat": CATALOGUE["page.event.replayed_heartbeat"],
})
SOURCES = types.MappingProxyType({"heartbeat": CATALOGUE["page.source_heartbeat"],
                                  "batch": CATALOGUE["page.source_batch"]})
DAYS = 60


def e(value) -> str:
    return htmllib.escape("" if value is None else str(value), quote=True)


def _label(table, code: str) -> str:
    # a code a later station version sends is shown as the code itself rather than hidden
    return table[code].text if code in table else code


def rating_word(code: str) -> str:
    """A climate rating (good, ok, risk) as staff read it; "" for none."""
    return _label(RATING_WORDS, code) if code else ""


def alert_words(kinds) -> str:
    """Climate alert kinds as staff read them, comma-separated."""
    return ", ".join(_label(ALERTS, k) for k in kinds)


def event_word(kind: str) -> Message:
    """Why a heartbeat was refused, as staff read it (a :class:`Message`, so a sentence can put each language's
    word in its own half); a kind this version does not name is the generic word with the code beside it."""
    return EVENTS[kind] if kind in EVENTS else CATALOGUE["page.event.other"].format(kind=kind)


def hold_word(code: str) -> str:
    """Why a record file is held, as staff read it."""
    return _label(HOLDS, code) if code else ""


def _years(pi) -> str:
    return "" if pi is None else f"{pi:.1f}"


def _pct(share) -> str:
    return "" if share is None else f"{share * 100:.1f} %"


def _code_share(day: dict, code: str) -> float | None:
    return day["warnings"].get(code, 0.0 if day["warnings_known"] else None)


def quality_section(history: list[dict]) -> str:
    days = quality_days(history)[-DAYS:]
    title = f'<h2 id="quality-title">{e(CATALOGUE["page.quality_over_time"].text)}</h2>'
    if not days:
        return title + f'<p id="quality-none">{e(CATALOGUE["page.no_quality"].text)}</p>'
    names = [d["day"] for d in days]
    codes = sorted({c for d in days for c in d["warnings"]}, key=lambda c: (c not in WARNINGS, c))
    series = [("any", CATALOGUE["page.any_warning"].text, "#111", [d["warned"] for d in days]),
              ("blank", CATALOGUE["page.blank_pages"].text, "#999", [d["blank"] for d in days])]
    series += [(c, _label(WARNINGS, c), charts.colour(i), [_code_share(d, c) for d in days])
               for i, c in enumerate(codes)]
    reasons = sorted({r for d in days for r in d["held"]})
    held = [(r, _label(HOLDS, r), charts.colour(i + 3), [d["held"].get(r, 0) for d in days])
            for i, r in enumerate(reasons)]
    out = charts.shares("quality", CATALOGUE["page.chart_quality"].text, names, series)
    out += charts.stacked("held-reasons", CATALOGUE["page.chart_held_reasons"].text, names, held)
    head = (f'<tr><th>{e(CATALOGUE["page.day"].text)}</th><th>{e(CATALOGUE["page.processed"].text)}</th>'
            f'<th>{e(CATALOGUE["page.any_warning"].text)}</th><th>{e(CATALOGUE["page.blank_pages"].text)}</th>'
            + "".join(f'<th data-series="{e(c)}">{e(_label(WARNINGS, c))}</th>' for c in codes)
            + f'<th>{e(CATALOGUE["page.held_files"].text)}</th><th>{e(CATALOGUE["page.reasons"].text)}</th></tr>')
    rows = "".join(
        f'<tr data-day="{e(d["day"])}"><td>{e(d["day"])}</td><td>{d["processed"]}</td><td>{_pct(d["warned"])}</td>'
        f'<td>{_pct(d["blank"])}</td>' + "".join(f'<td>{_pct(_code_share(d, c))}</td>' for c in codes)
        + f'<td>{sum(d["held"].values())}</td><td>'
        + e("; ".join(f"{_label(HOLDS, r)}: {n}" for r, n in d["held"].items())) + "</td></tr>"
        for d in reversed(days))
    table = f'<div class="wrap"><table id="quality-table">{head}{rows}</table></div>'
    return title + f'<div class="charts">{out}</div>' + table


def rating_section(history: list[dict], batch_climate: dict[str, dict]) -> str:
    days = rating_days(history, batch_climate)[-DAYS:]
    if not days:
        return ""
    names = [d["day"] for d in days]
    words = {r: m.text for r, m in RATING_WORDS.items()}
    chart = charts.rating_bands(
        "ratings", CATALOGUE["page.chart_ratings"].text, names,
        [("pi", CATALOGUE["page.pi_short"].vi, CATALOGUE["page.pi_rating"].text, [d["pi_rating"] for d in days]),
         ("mold", CATALOGUE["page.mold_short"].vi, CATALOGUE["page.mold_rating"].text,
          [d["mold_rating"] for d in days])], words)
    head = (f'<tr><th>{e(CATALOGUE["page.day"].text)}</th><th>{e(CATALOGUE["page.pi_years"].text)}</th>'
            f'<th>{e(CATALOGUE["page.pi_rating"].text)}</th><th>{e(CATALOGUE["page.mold_rating"].text)}</th>'
            f'<th>{e(CATALOGUE["page.sources"].text)}</th></tr>')
    rows = "".join(
        f'<tr data-day="{e(d["day"])}"><td>{e(d["day"])}</td><td>{_years(d["pi"])}</td>'
        f'<td class="rating-{e(d["pi_rating"] or "")}">{e(words.get(d["pi_rating"], ""))}</td>'
        f'<td class="rating-{e(d["mold_rating"] or "")}">{e(words.get(d["mold_rating"], ""))}</td>'
        f'<td>{e(", ".join(SOURCES[s].text for s in d["sources"]))}</td></tr>' for d in reversed(days))
    return (f'<div class="charts">{chart}</div><div class="wrap"><table id="ratings-table">{head}{rows}</table>'
            f'</div>')
