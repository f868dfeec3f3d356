"""HTML of the central web: server-rendered, no script, readable on a phone (design §5.15).

Every word comes from ``central/messages.toml`` (Vietnamese first, English
beside); every value from the database is escaped.
"""

from __future__ import annotations

import html as htmllib
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from aiohttp import web

from central.messages import CATALOGUE
from central.web import charts, commune_charts
from central.web.staff import ADMINISTRATOR, ARCHIVIST, allows

_CSS = """
body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#1d3557;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;gap:1em;align-items:center}
header a{color:#fff}main{padding:1em}table{border-collapse:collapse;width:100%}
.wrap{overflow-x:auto}th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;white-space:nowrap}
th a{color:inherit}tr.red td.contact{background:#e63946;color:#fff;font-weight:bold}
.totals{display:flex;flex-wrap:wrap;gap:1em;margin:.5em 0}.totals div{background:#f1faee;padding:.4em .8em}
.en{color:#666;font-size:.9em}.restricted{color:#a00}form.inline{display:inline}
input,select,button{font-size:1em;padding:.3em}.bar{background:#457b9d;height:.8em;display:inline-block}
.charts{display:flex;flex-wrap:wrap;gap:1em}.chart{flex:1 1 420px;margin:0;max-width:760px}
.chart figcaption{font-size:.9em;color:#444}
ul.legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:.2em 1em}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border:1px solid #999;vertical-align:middle}
td.rating-good{background:#d8f0ec}td.rating-ok{background:#fbf0d0}td.rating-risk{background:#fbd5d8}
.conf-track{display:inline-block;width:60px;height:.7em;background:#e5e5e5;vertical-align:middle}
.conf-fill{display:block;height:100%;background:#2a9d8f}.conf-low .conf-fill{background:#e63946}
.conf-reviewed .conf-fill{background:#e9c46a}tr.conf-low td{background:#fdecea}.conf-note{font-size:.85em}
ol#docs li.doc{margin-bottom:1em}
#stations th,#stations td{white-space:normal;overflow-wrap:break-word;padding:.3em .35em}
#stations th{vertical-align:bottom;font-size:.9em}#stations th .en{display:block;font-weight:normal}
#stations abbr{text-decoration:none}#stations td.num{text-align:right;white-space:nowrap}
#stations td.contact{min-width:6em}
@media (max-width:700px){#stations th,#stations td{white-space:nowrap}
#stations th:first-child,#stations td:first-child{position:sticky;left:0;background:#fff}}
form#search-form{display:flex;flex-wrap:wrap;gap:.6em 1em;align-items:flex-end;margin-bottom:.8em}
form#search-form label{display:flex;flex-direction:column;font-size:.9em;flex:0 1 auto}
form#search-form label.wide{flex:1 1 22em}form#search-form label.wide input{width:100%;box-sizing:border-box}
form#search-form .en{display:inline}form#search-form .buttons{display:flex;gap:1em;align-items:center}
#problem{background:#fdecea;color:#a00;padding:.5em .8em;font-weight:bold}
#active{display:flex;flex-wrap:wrap;gap:.3em .6em;margin:.4em 0}#active span.chip{background:#f1faee;padding:.2em .6em}
#total{font-weight:bold}.note{color:#555;font-size:.9em}form#search-form select{max-width:22em}
#results th{vertical-align:bottom}#results th .en{display:block;font-weight:normal}
#results td.title{white-space:normal;min-width:16em}
@media (max-width:700px){form#search-form label,form#search-form label.wide{flex:1 1 100%}
form#search-form input,form#search-form select{width:100%;max-width:none;box-sizing:border-box}
form#search-form label.date{flex:1 1 40%}}
"""


def html(body: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


def e(value) -> str:
    return htmllib.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str, session=None, *, refresh_s: int = 0, script: str = "") -> str:
    # A page with *script* updates itself from the JSON API (a file of this origin: the CSP allows no inline
    # script); without scripts it reloads every *refresh_s* seconds instead.
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    if script:
        refresh = f'<noscript>{refresh}</noscript><script src="{e(script)}" defer></script>'

    nav = ""
    if session is not None:
        links = [("/", CATALOGUE["page.nav_overview"].text), ("/search", CATALOGUE["page.nav_search"].text)]
        if allows(session.role, ARCHIVIST):
            links += [("/audit", CATALOGUE["page.nav_audit"].text),
                      ("/reports/monthly.csv", CATALOGUE["page.nav_report"].text),
                      ("/reports/monthly.pdf", CATALOGUE["page.report_pdf"].text)]
        if allows(session.role, ADMINISTRATOR):
            links.append(("/admin", CATALOGUE["page.admin_title"].text))
        nav = " ".join(f'<a href="{href}">{e(label)}</a>' for href, label in links)
        nav += (f' <span>{e(session.user)} ({e(session.role)})</span>'
                f'<form class="inline" method="post" action="/logout">'
                f'<input type="hidden" name="csrf_token" value="{e(session.csrf_token)}">'
                f'<button id="logout">{e(CATALOGUE["page.logout"].text)}</button></form>')
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">{refresh}<title>{e(title)}</title>'
            f'<style>{_CSS}</style></head><body><header><strong>sohoa</strong> {nav}</header>'
            f'<main><h1>{e(title)}</h1>{body}</main></body></html>')


def login_page(message: str, next_path: str) -> str:
    msg = f'<p id="message" class="restricted">{e(message)}</p>' if message else ""
    return _page(CATALOGUE["page.login_title"].text,
                 f'{msg}<form method="post" action="/login">'
                 f'<p><label>{e(CATALOGUE["page.user"].text)}<br><input name="user" id="user" autocomplete="username">'
                 f'</label></p><p><label>{e(CATALOGUE["page.password"].text)}<br>'
                 f'<input name="password" id="password" type="password" autocomplete="current-password"></label></p>'
                 f'<input type="hidden" name="next" value="{e(next_path)}">'
                 f'<button id="login">{e(CATALOGUE["page.login"].text)}</button></form>')


def _ago(age_s) -> str:
    if age_s is None:
        return CATALOGUE["page.never"].text
    if age_s < 3600:
        return CATALOGUE["page.minutes_ago"].format(n=int(age_s // 60)).text
    if age_s < 2 * 86400:
        return CATALOGUE["page.hours_ago"].format(n=int(age_s // 3600)).text
    return CATALOGUE["page.days_ago"].format(n=int(age_s // 86400)).text


def _when(ts) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _pct(share) -> str:
    return "" if share is None else f"{share * 100:.0f} %"


def totals_text(totals: dict, modes: dict) -> list[str]:
    """The overview's totals as staff read them (the page and the JSON its script polls)."""
    return [CATALOGUE["page.total_stations"].format(n=totals["stations"]).text,
            CATALOGUE["page.total_red"].format(n=totals["red"]).text,
            CATALOGUE["page.total_backlog"].format(n=totals["backlog"]).text,
            CATALOGUE["page.total_pages_week"].format(n=totals["pages_week"]).text,
            CATALOGUE["page.total_held"].format(n=totals["held"]).text,
            CATALOGUE["page.secret_count"].format(n=modes.get("03", 0)).text]


def row_text(r: dict) -> dict:
    """One station's cells as the overview shows them, by cell class (the script writes them as text)."""
    return {"contact": _ago(r["age_s"]), "backlog": "" if r["backlog"] is None else str(r["backlog"]),
            "pages_week": str(r["pages_week"]), "held": str(r["held"]), "quality": _pct(r["quality_share"]),
            "climate": commune_charts.rating_word(r["climate_rating"]),
            "alerts": commune_charts.alert_words(r["alerts"]), "events": str(r["events"] or "")}


def overview(session, rows: list[dict], totals: dict, query, events: list[dict], modes: dict,
             poll_s: float = 30.0) -> str:
    def head(key: str, full, short=None) -> str:
        # A short two-line head (Vietnamese, English under it) so the eleven columns fit 1280 px; the full
        # label is its title. A *key* makes it a sort link.
        short = short or full
        label = f'{e(short.vi)}<span class="en">{e(short.en)}</span>'
        if key:
            desc = "1" if query.get("sort") == key and query.get("desc") != "1" else "0"
            args = {k: v for k, v in query.items() if k in ("province", "district")} | {"sort": key, "desc": desc}
            label = f'<a href="/?{e(urlencode(args))}">{label}</a>'
        return f'<th><abbr title="{e(full.text)}">{label}</abbr></th>'

    provinces = sorted({r["province"] for r in rows if r["province"]})
    options = "".join(f'<option{" selected" if p == query.get("province") else ""}>{e(p)}</option>' for p in provinces)
    filters = (f'<form method="get" action="/" id="filter"><label>{e(CATALOGUE["page.province"].text)} '
               f'<select name="province" id="province"><option value="">*</option>{options}</select></label> '
               f'<label>{e(CATALOGUE["page.district"].text)} <input name="district" id="district" '
               f'value="{e(query.get("district", ""))}"></label> '
               f'<button id="apply">{e(CATALOGUE["page.filter"].text)}</button></form>')
    tot = '<div class="totals" id="totals">' + "".join(f"<div>{e(t)}</div>" for t in totals_text(totals, modes)) + "</div>"
    numeric = {"backlog", "pages_week", "held", "quality", "events"}
    body = []
    for r in rows:
        cls = ' class="red"' if r["red"] else ""
        t = row_text(r)
        body.append(f'<tr{cls} data-device="{e(r["device"])}"><td><a href="/commune/{quote(r["device"])}">'
                    f'{e(r["commune"] or r["device"])}</a></td><td>{e(r["district"])}</td><td>{e(r["province"])}</td>'
                    + "".join(f'<td class="{k}{" num" if k in numeric else ""}"'
                              + (f' title="{e(_when(r["last_contact"]))}"' if k == "contact" else "") + f'>{e(v)}</td>'
                              for k, v in t.items()) + '</tr>')
    table = (f'<div class="wrap"><table id="stations" data-poll-s="{poll_s:g}"><tr>'
             f'{head("commune", CATALOGUE["page.commune"])}{head("district", CATALOGUE["page.district"])}'
             f'{head("province", CATALOGUE["page.province"])}'
             f'{head("age_s", CATALOGUE["page.last_contact"], CATALOGUE["page.col_contact"])}'
             f'{head("backlog", CATALOGUE["page.backlog"])}'
             f'{head("pages_week", CATALOGUE["page.pages_week"], CATALOGUE["page.col_pages_week"])}'
             f'{head("held", CATALOGUE["page.held"])}{head("", CATALOGUE["page.quality"], CATALOGUE["page.col_quality"])}'
             f'{head("", CATALOGUE["page.climate"], CATALOGUE["page.col_climate"])}{head("", CATALOGUE["page.alerts"])}'
             f'{head("", CATALOGUE["page.events"])}</tr>'
             + "".join(body) + "</table></div>")
    return _page(CATALOGUE["page.overview_title"].text, filters + tot + table + _events(events), session,
                 refresh_s=60, script="/live.js")


def _events(events: list[dict]) -> str:
    if not events:
        return ""
    refused = CATALOGUE["page.event_refused_heartbeat"]
    items = ""
    for ev in events:
        # each half of the sentence takes the word in its own language; the code stays for scripts (data-kind)
        word = commune_charts.event_word(ev["kind"])
        sentence = f'{refused.format(reason=word.vi).vi} / {refused.format(reason=word.en).en}'
        items += (f'<li data-kind="{e(ev["kind"])}">{e(_when(ev["at"]))} {e(ev["device_id"])}: '
                  f'{e(sentence)} · {e(ev["client"])}</li>')
    return f'<h2>{e(CATALOGUE["page.events"].text)}</h2><ul id="events">{items}</ul>'


# The target band drawn when a report names none: the station's default alert band (climate settings).
TARGET_T_C = (15.0, 25.0)
TARGET_RH_PCT = (35.0, 60.0)


def _band(climate: dict, key: str, default: tuple[float, float]) -> tuple[float, float]:
    band = climate.get("band") if isinstance(climate.get("band"), dict) else {}
    v = band.get(key)
    if (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            and v[0] < v[1]):
        return float(v[0]), float(v[1])
    return default


def _reading(climate: dict, key: str) -> float | None:
    v = climate.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _charts(history: list[dict], files_by_day: dict[str, int]) -> str:
    """Progress and climate charts, oldest day first (inline SVG, design §5.15)."""
    days_h = list(reversed(history))
    days = sorted({h["day"] for h in days_h} | set(files_by_day))[-60:]
    by_day = {h["day"]: h for h in days_h}
    if not days:
        return ""
    out = charts.progress("progress", CATALOGUE["page.chart_progress"].text, days,
                          [int(by_day[d]["pages"]) if d in by_day else 0 for d in days],
                          [files_by_day.get(d, 0) for d in days], CATALOGUE["page.pages"].text,
                          CATALOGUE["page.record_files_day"].text)
    climates = [by_day[d]["climate"] if d in by_day and isinstance(by_day[d]["climate"], dict) else {} for d in days]
    last = next((c for c in reversed(climates) if c), {})
    for chart_id, key, band_key, default, unit, title in (
            ("climate-t", "t_c", "t", TARGET_T_C, " °C", CATALOGUE["page.chart_temperature"]),
            ("climate-rh", "rh_pct", "rh", TARGET_RH_PCT, " %", CATALOGUE["page.chart_humidity"])):
        values = [_reading(c, key) for c in climates]
        if any(v is not None for v in values):
            out += charts.banded(chart_id, title.text, days, values, _band(last, band_key, default), unit,
                                 title.text, CATALOGUE["page.target_band"].text)
    return f'<h2>{e(CATALOGUE["page.charts"].text)}</h2><div class="charts">{out}</div>'


def commune(session, row: dict, history: list[dict], events: list[dict], batches: dict, latest: dict,
            files_by_day: dict[str, int] | None = None, batch_climate: dict[str, dict] | None = None) -> str:
    top = max([h["pages"] for h in history] + [1])
    days = "".join(f'<tr><td>{e(h["day"])}</td><td>{e(h["pages"])} <span class="bar" style="width:'
                   f'{int(120 * h["pages"] / top)}px"></span></td><td>{e(h["processed"])}</td><td>{e(h["held"])}</td>'
                   f'<td>{e(h["queue_depth"])}</td>'
                   f'<td>{e(commune_charts.rating_word(h["climate"].get("rating", "")))}</td></tr>' for h in history)
    accepted = "".join(f'<li>seq {e(b["seq"])} → log {e(b["idx"])}</li>' for b in batches["accepted"])
    rejected = "".join(f'<li>{e(_when(b["at"]))} seq {e(b["seq"])}: {e(b["code"])}</li>' for b in batches["rejected"])
    facts = (f'<p id="contact">{e(CATALOGUE["page.last_contact"].text)}: {e(_ago(row["age_s"]))} '
             f'({e(_when(row["last_contact"]))}) · {e(CATALOGUE["page.backlog"].text)}: {e(row["backlog"])} · '
             f'{e(row["district"])}, {e(row["province"])} · {e(row["version"])}</p>')
    held = "".join(f'<li>{e(h.get("file_code"))}: {e(commune_charts.hold_word(h.get("reason") or ""))}</li>'
                   for h in latest.get("held", []))
    climate = latest.get("climate", {}) if isinstance(latest.get("climate"), dict) else {}
    facts += (f'<p id="climate">{e(CATALOGUE["page.climate"].text)}: '
              f'{e(commune_charts.rating_word(climate.get("rating", "")))} · '
              f'{e(CATALOGUE["page.alerts"].text)}: {e(commune_charts.alert_words(climate.get("alerts", [])))} · '
              f'{e(CATALOGUE["page.quality"].text)}: {e(_pct(row["quality_share"]))}</p>'
              f'<h2>{e(CATALOGUE["page.held"].text)}</h2><ul id="held">{held}</ul>')
    body = (facts + _charts(history, files_by_day or {}) + commune_charts.rating_section(history, batch_climate or {})
            + commune_charts.quality_section(history) + f'<h2>{e(CATALOGUE["page.daily_history"].text)}</h2><div class="wrap"><table id="history"><tr>'
            f'<th>{e(CATALOGUE["page.day"].text)}</th><th>{e(CATALOGUE["page.pages"].text)}</th>'
            f'<th>{e(CATALOGUE["page.processed"].text)}</th><th>{e(CATALOGUE["page.held"].text)}</th>'
            f'<th>{e(CATALOGUE["page.backlog"].text)}</th><th>{e(CATALOGUE["page.climate"].text)}</th></tr>'
            f'{days}</table></div><h2>{e(CATALOGUE["page.batches"].text)}</h2><ul id="batches">{accepted}</ul>'
            f'<h2>{e(CATALOGUE["page.rejections"].text)}</h2><ul id="rejections">{rejected}</ul>' + _events(events))
    return _page(row["commune"] or row["device"], body, session)


def _confidence(v) -> tuple[str, str]:
    """(row class, cell) of one value's confidence: a bar and a percent, marked when below its threshold."""
    if not isinstance(v, dict) or not isinstance(v.get("confidence"), (int, float)):
        return "", ""
    c = float(v["confidence"])
    t = v.get("threshold")
    low = isinstance(t, (int, float)) and c < float(t)
    cls, note = "", ""
    if low and v.get("reviewed"):
        cls, note = "conf-reviewed", CATALOGUE["page.conf_reviewed"].text
    elif low:
        cls, note = "conf-low", CATALOGUE["page.conf_low"].format(threshold=f"{float(t):.0%}").text
    title = CATALOGUE["page.conf_title"].format(value=f"{c:.0%}", threshold=f"{float(t):.0%}" if
                                                isinstance(t, (int, float)) else "—").text
    return cls, (f'<span class="conf" data-confidence="{c:.3f}" title="{e(title)}"><span class="conf-track">'
                 f'<span class="conf-fill" style="width:{max(0.0, min(1.0, c)) * 100:.0f}%"></span></span> '
                 f'<span class="conf-pct">{c:.0%}</span></span>' + (f' <span class="conf-note">{e(note)}</span>'
                                                                   if note else ""))


def record(session, rec: dict) -> str:
    fields = "".join(f'<tr><th>{e(k)}</th><td>{e(v)}</td></tr>' for k, v in rec["fields"].items())
    docs = []
    for d in rec["document_list"]:
        rows = []
        for k, v in d["fields"].items():
            cls, cell = _confidence(v)
            rows.append(f'<tr class="field {cls}" data-field="{e(k)}"><th>{e(k)}</th>'
                        f'<td>{e(v.get("value") if isinstance(v, dict) else v)}</td><td>{cell}</td></tr>')
        link = (f' <a class="pdf" href="/record/{quote(rec["file_code"])}/pdf/{d["n"]}" target="_blank">PDF</a>'
                if d["pdf_key"] else "")
        head = (f'<tr><th>{e(CATALOGUE["page.field"].text)}</th><th>{e(CATALOGUE["page.value"].text)}</th>'
                f'<th>{e(CATALOGUE["page.confidence"].text)}</th></tr>')
        docs.append(f'<li class="doc" data-n="{e(d["n"])}">{link}<div class="wrap">'
                    f'<table class="docfields">{head}{"".join(rows)}</table></div></li>')
    export = (f'<p><a id="export" href="/record/{quote(rec["file_code"])}/export">'
              f'{e(CATALOGUE["page.export"].text)}</a></p>' if allows(session.role, ARCHIVIST) and rec.get("source") else "")
    body = (f'<p id="meta">{e(rec["file_code"])} · {e(CATALOGUE["page.mode"].text)} {e(rec["mode"])} · '
            f'{e(rec.get("commune"))}</p><div class="wrap"><table id="ead">{fields}</table></div>'
            f'<h2>{e(CATALOGUE["page.documents"].text)}</h2><ol id="docs">{"".join(docs)}</ol>{export}')
    return _page(rec["title"] or rec["file_code"], body, session)


def audit_trail(session, rows: list[dict], check) -> str:
    state = (CATALOGUE["page.chain_ok"].format(n=check.checked).text if check.first_bad is None
             else CATALOGUE["page.chain_broken"].format(seq=check.first_bad).text)
    export = ('<a id="audit-csv" href="/audit.csv">CSV</a>' if allows(session.role, ADMINISTRATOR) else "")
    items = "".join(f'<tr><td>{e(r["seq"])}</td><td>{e(_when(r["at"]))}</td><td>{e(r["actor"])}</td>'
                    f'<td>{e(r["role"])}</td><td class="action">{e(r["action"])}</td><td>{e(r["target"])}</td>'
                    f'<td>{e(r["detail"])}</td><td>{e(r["client"])}</td></tr>' for r in rows)
    body = (f'<p id="chain">{e(state)} {export}</p><div class="wrap"><table id="audit"><tr><th>#</th>'
            f'<th>{e(CATALOGUE["page.time"].text)}</th><th>{e(CATALOGUE["page.user"].text)}</th>'
            f'<th>{e(CATALOGUE["page.role"].text)}</th><th>{e(CATALOGUE["page.action"].text)}</th>'
            f'<th>{e(CATALOGUE["page.target"].text)}</th><th></th><th></th></tr>{items}</table></div>')
    return _page(CATALOGUE["page.audit_title"].text, body, session)


def refused(session, file_code: str, message: str) -> str:
    """A record file the session may not read: its code and why, nothing of its content (A03)."""
    return _page(file_code, f'<p id="refused" class="restricted">{e(message)}</p>', session)


def admin(session, users: list[dict], devices: list, message: str) -> str:
    token = f'<input type="hidden" name="csrf_token" value="{e(session.csrf_token)}">'
    msg = f'<p id="message">{e(message)}</p>' if message else ""
    people = "".join(f'<tr><td>{e(u["name"])}</td><td>{e(u["role"])}</td><td>{"x" if u["disabled"] else ""}</td></tr>'
                     for u in users)
    roles = "".join(f'<option>{r}</option>' for r in ("viewer", "archivist", "administrator"))
    devs = "".join(f'<tr><td>{e(d.device_id)}</td><td>{e(d.last_seq)}</td>'
                   f'<td>{e(CATALOGUE["cli.revoked"].text) if d.revoked else ""}</td></tr>' for d in devices)
    body = (f'{msg}<h2>{e(CATALOGUE["page.accounts"].text)}</h2><div class="wrap"><table id="users">{people}</table>'
            f'</div><form method="post" action="/admin/users">{token}<input name="name" id="new-name" '
            f'placeholder="{e(CATALOGUE["page.user"].text)}"> <select name="role">{roles}</select> '
            f'<input name="password" type="password" placeholder="{e(CATALOGUE["page.password"].text)}"> '
            f'<button>{e(CATALOGUE["page.save"].text)}</button></form>'
            f'<h2>{e(CATALOGUE["page.devices"].text)}</h2><div class="wrap"><table id="devices">{devs}</table></div>'
            f'<form method="post" action="/admin/tokens">{token}<input name="device" placeholder="device id"> '
            f'<button>{e(CATALOGUE["page.mint_token"].text)}</button></form>'
            f'<form method="post" action="/admin/revoke">{token}<input name="device" placeholder="device id"> '
            f'<button>{e(CATALOGUE["page.revoke"].text)}</button></form>')
    return _page(CATALOGUE["page.admin_title"].text, body, session)
