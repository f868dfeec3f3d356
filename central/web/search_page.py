"""HTML of the catalogue search page: its filter form, the active filters, the total and the results (design §5.15).

A GET form, so a search is a link; the values searched stay in the form. Every
word comes from ``central/messages.toml``; every value from the request or the
database is escaped.
"""

from __future__ import annotations

from urllib.parse import quote

from central.messages import CATALOGUE
from central.web.pages import _page, e
from central.web.search_query import Query, type_label



def _label(msg, control: str, cls: str = "") -> str:
    # Vietnamese first, English beside it, over the control.
    return (f'<label{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}><span>{e(msg.vi)} '
            f'<span class="en">{e(msg.en)}</span></span>{control}</label>')


def _select(name: str, choices: list[tuple[str, str]], current: str) -> str:
    opts = f'<option value="">{e(CATALOGUE["page.any"].text)}</option>'
    opts += "".join(f'<option value="{e(v)}"{" selected" if v == current else ""}>{e(label)}</option>'
                    for v, label in choices)
    return f'<select name="{name}" id="{name}">{opts}</select>'


def _communes(groups: list[tuple[str, list[str]]], current: str) -> str:
    opts = f'<option value="">{e(CATALOGUE["page.any"].text)}</option>'
    known = False
    for province, names in groups:
        items = ""
        for name in names:
            known = known or name == current
            items += f'<option{" selected" if name == current else ""}>{e(name)}</option>'
        opts += f'<optgroup label="{e(province)}">{items}</optgroup>' if province else items
    if current and not known:  # a link naming a commune no station has: shown, so the form says what was asked
        opts += f'<option selected>{e(current)}</option>'
    return f'<select name="commune" id="commune">{opts}</select>'


def form(query: Query, *, modes: list[tuple[str, str]], types: list[tuple[str, str]],
         communes: list[tuple[str, list[str]]], issuers: list[str]) -> str:
    bodies = "".join(f'<option value="{e(b)}"></option>' for b in issuers)
    return ('<form method="get" action="/search" id="search-form">'
            + _label(CATALOGUE["page.search_words"],
                     f'<input name="q" id="q" value="{e(query.q)}" maxlength="400" type="search">', "wide")
            + _label(CATALOGUE["page.doc_type"], _select("type", types, query.type))
            + _label(CATALOGUE["page.issuer"], f'<input name="issuer" id="issuer" list="issuers" '
                     f'value="{e(query.issuer)}" maxlength="400"><datalist id="issuers">{bodies}</datalist>')
            + _label(CATALOGUE["page.commune"], _communes(communes, query.commune))
            + _label(CATALOGUE["page.mode"], _select("mode", modes, query.mode))
            + _label(CATALOGUE["page.since"], f'<input type="date" name="since" id="since" value="{e(query.since)}">',
                     "date")
            + _label(CATALOGUE["page.until"], f'<input type="date" name="until" id="until" value="{e(query.until)}">',
                     "date")
            + f'<span class="buttons"><button id="go">{e(CATALOGUE["page.search"].text)}</button>'
              f'<a id="clear" href="/search">{e(CATALOGUE["page.clear"].text)}</a></span></form>')


def _active(query: Query, modes: dict, types: dict) -> str:
    chips = []
    for msg, value in ((CATALOGUE["page.search_words"], query.q), (CATALOGUE["page.doc_type"], types.get(query.type)),
                       (CATALOGUE["page.issuer"], query.issuer), (CATALOGUE["page.commune"], query.commune),
                       (CATALOGUE["page.mode"], modes.get(query.mode)), (CATALOGUE["page.since"], query.since),
                       (CATALOGUE["page.until"], query.until)):
        if value:
            chips.append(f'<span class="chip">{e(msg.vi)} <span class="en">{e(msg.en)}</span>: '
                         f'<b>{e(value)}</b></span>')
    if not chips:
        return ""
    return f'<p id="active">{e(CATALOGUE["page.active_filters"].text)}: {"".join(chips)}</p>'


def _dates(row: dict) -> str:
    start, end = row.get("start_date") or "", row.get("end_date") or ""
    return f"{start} – {end}" if end and end != start else start


def _results(rows: list[dict], total: int, more: bool) -> str:
    items = []
    for r in rows:
        label = (e(CATALOGUE["page.restricted"].format(mode=r["mode"]).text) if r.get("restricted") else e(r["title"]))
        items.append(f'<tr class="{"restricted" if r.get("restricted") else ""}"><td><a href="/record/'
                     f'{quote(r["file_code"])}">{e(r["file_code"])}</a></td><td class="title">{label}</td>'
                     f'<td>{e(r["mode"])}</td>'
                     f'<td>{e(type_label(r.get("doc_type") or ""))}</td><td>{e(_dates(r))}</td>'
                     f'<td>{e(r["commune"])}</td><td>{e(r["documents"])}</td></tr>')
    count = CATALOGUE["page.results_more"].format(n=total) if more else CATALOGUE["page.results"].format(n=total)
    heads = "".join(f'<th>{e(m.vi)}<span class="en">{e(m.en)}</span></th>' for m in (
        CATALOGUE["page.file_code"], CATALOGUE["page.title"], CATALOGUE["page.mode"], CATALOGUE["page.doc_type"],
        CATALOGUE["page.dates"], CATALOGUE["page.commune"], CATALOGUE["page.documents"]))
    return (f'<p id="total">{e(count.text)}</p><div class="wrap"><table id="results"><tr>{heads}</tr>'
            + "".join(items) + "</table></div>")


def page(session, query: Query, choices: dict, *, found=None, rows: list[dict] | None = None, problem=None,
         note: bool = False) -> str:
    """The search page. *choices*: the form's ``modes``, ``types``, ``communes`` and ``issuers``; *found* the
    :class:`central.web.search.Found` (None: nothing searched), *rows* its rows as the role may see them;
    *problem* a message shown instead of results; *note*: content filters left restricted modes out."""
    body = form(query, **choices)
    if problem is not None:
        body += f'<p id="problem" role="alert">{e(problem.text)}</p>'
    elif found is None:
        body += f'<p id="hint" class="note">{e(CATALOGUE["page.search_hint"].text)}</p>'
    else:
        body += _active(query, dict(choices["modes"]), dict(choices["types"]))
        if note:
            body += f'<p id="content-note" class="note">{e(CATALOGUE["page.content_filters_note"].text)}</p>'
        body += _results(rows or [], found.total, found.total_is_lower_bound)
    return _page(CATALOGUE["page.search_title"].text, body, session)
