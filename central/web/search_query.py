"""What a catalogue search asks for, read from a request's query and checked (design §5.15 "The search form").

``GET /search`` and ``GET /api/search`` take the same fields: ``q`` (words or a
file code), ``mode``, ``type``, ``issuer``, ``commune``, ``since``, ``until``.
:func:`parse` answers the checked :class:`Query` and, for bad input, the message
to show instead of searching (answered 400, never a 500). The choices the form
offers are here too, so the form offers nothing :func:`parse` refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

from central.messages import CATALOGUE
from central.web.records import MODES
from central.web.staff import readable_modes
from records.codes import TYPE_NAME
from sync.catalogue import Message

MAX_Q = 200
MAX_ISSUER = 200
MAX_COMMUNE = 100
ISSUER_SAMPLE = 5000   # record files read for the issuing bodies the form suggests (no index on issuer)
ISSUERS_SHOWN = 200
_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_BY_NAME = {name: code for code, name in TYPE_NAME.items()}


@dataclass(frozen=True)
class Query:
    """A checked search: every field as the user gave it (the form shows them again), ``type`` a TT 05 code."""

    q: str = ""
    mode: str = ""
    type: str = ""
    issuer: str = ""
    commune: str = ""
    since: str = ""
    until: str = ""

    def active(self) -> bool:
        """True when the user asked for something (a page without any field shows the form alone)."""
        return any(getattr(self, f.name) for f in fields(self))

    def content_filters(self) -> bool:
        return bool(self.type or self.issuer or self.since or self.until)

    def search_args(self, role: str) -> dict:
        """Keyword arguments of :func:`central.web.search.search` for *role*.

        Type, issuing body and dates are a record file's content: they filter only the modes *role* may read,
        so a filter never tells which restricted record files have a given type or body (A03).
        """
        modes = (self.mode,) if self.mode else MODES
        if self.content_filters():
            modes = tuple(m for m in modes if m in readable_modes(role))
        doc_type = (self.type, TYPE_NAME[self.type]) if self.type else ()
        return {"modes": modes, "commune": self.commune, "doc_type": doc_type, "issuer": self.issuer,
                "since": self.since, "until": self.until, "readable": readable_modes(role)}


def _date_ok(value: str) -> bool:
    m = _DATE.fullmatch(value)
    if not m:
        return False
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    try:
        date(year, month, day)
    except ValueError:
        return False
    return year >= 1000


def parse(query) -> tuple[Query, Message | None]:
    """The :class:`Query` of a request's *query* (a mapping of strings), and the first problem with it or None.

    A type is a TT 05 code (``02``) or its name (``Quyết định``, as older links send it); a date is ``YYYY``,
    ``YYYY-MM`` or ``YYYY-MM-DD`` (what ``<input type=date>`` sends), ``since`` not after ``until``.
    """
    get = {k: str(query.get(k, "")).strip() for k in ("q", "mode", "type", "issuer", "commune", "since", "until")}
    doc_type = _BY_NAME.get(get["type"], get["type"])
    # Values kept as given (cut to a length the page can show again) so the form shows what was typed.
    asked = Query(q=get["q"][:MAX_Q * 2], mode=get["mode"][:8], type=doc_type[:100],
                  issuer=get["issuer"][:MAX_ISSUER * 2], commune=get["commune"][:MAX_COMMUNE * 2],
                  since=get["since"][:32], until=get["until"][:32])
    problem = None
    if len(get["q"]) > MAX_Q:
        problem = CATALOGUE["search.q_too_long"].format(n=len(get["q"]), limit=MAX_Q)
    elif len(get["issuer"]) > MAX_ISSUER:
        problem = CATALOGUE["search.issuer_too_long"].format(n=len(get["issuer"]), limit=MAX_ISSUER)
    elif len(get["commune"]) > MAX_COMMUNE:
        problem = CATALOGUE["search.commune_too_long"].format(n=len(get["commune"]), limit=MAX_COMMUNE)
    elif get["mode"] and get["mode"] not in MODES:
        problem = CATALOGUE["search.bad_mode"].format(value=get["mode"][:8])
    elif doc_type and doc_type not in TYPE_NAME:
        problem = CATALOGUE["search.bad_type"].format(value=get["type"][:100])
    elif get["since"] and not _date_ok(get["since"]):
        problem = CATALOGUE["search.bad_since"].format(value=get["since"][:32])
    elif get["until"] and not _date_ok(get["until"]):
        problem = CATALOGUE["search.bad_until"].format(value=get["until"][:32])
    elif get["since"] and get["until"] and get["since"] > get["until"] + "~":
        # "~" sorts after every digit and "-": an until of "2024" or "2024-01" reaches to the end of it.
        problem = CATALOGUE["search.dates_reversed"].format(since=get["since"], until=get["until"])
    return asked, problem


def mode_choices(role: str) -> list[tuple[str, str]]:
    """``[(mode, label)]`` the form offers *role*: a mode it may not read says it lists codes and counts only."""
    names = {"01": CATALOGUE["page.mode_01"], "02": CATALOGUE["page.mode_02"], "03": CATALOGUE["page.mode_03"]}
    readable = readable_modes(role)
    out = []
    for mode in MODES:
        name = names[mode]
        if mode in readable:
            out.append((mode, name.text))
        else:
            limited = CATALOGUE["page.code_only"]
            out.append((mode, f'{limited.format(mode=name.vi).vi} / {limited.format(mode=name.en).en}'))
    return out


def type_choices() -> list[tuple[str, str]]:
    """``[(code, "02 Quyết định")]``: TT 05's document types, the list the station classifies into."""
    return [(code, f"{code} {name}") for code, name in TYPE_NAME.items()]


def type_label(value: str) -> str:
    """A record file's stored type as the form names it: ``02`` and ``Quyết định`` both read ``02 Quyết định``."""
    code = _BY_NAME.get(value, value)
    return f"{code} {TYPE_NAME[code]}" if code in TYPE_NAME else value


def communes(state) -> list[tuple[str, list[str]]]:
    """``[(province, [commune, …])]`` of the stations staff see on the overview, sorted."""
    with state.tx() as db:
        rows = db.execute("SELECT DISTINCT province, commune FROM stations WHERE commune <> '' "
                          "ORDER BY province, commune").fetchall()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["province"] or "", []).append(r["commune"])
    return list(out.items())


def issuers(state, role: str) -> list[str]:
    """Issuing bodies of record files *role* may read, the most frequent first, from a bounded sample.

    No index covers ``issuer``: a count over a million record files would cost every page view, so the
    suggestions come from the first ``ISSUER_SAMPLE`` rows the database reads. The field takes any name.
    """
    modes = readable_modes(role)
    if not modes:
        return []
    with state.tx() as db:
        rows = db.execute(f"SELECT issuer, COUNT(*) AS n FROM (SELECT issuer FROM web_records WHERE "
                          f"mode IN ({','.join('?' * len(modes))}) AND issuer <> '' LIMIT ?) sample "
                          f"GROUP BY issuer ORDER BY n DESC, issuer LIMIT ?",
                          (*modes, ISSUER_SAMPLE, ISSUERS_SHOWN)).fetchall()
    return [r["issuer"] for r in rows]
