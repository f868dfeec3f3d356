"""Catalogue search (design §5.15 "Search"): what ``GET /search`` and ``GET /api/search`` answer.

A search gathers a bounded *window* of matching record files, at most
``TOTAL_CAP + 1``, straight from the text index (FTS5 on SQLite, the GIN index
of ``search_tsv`` on PostgreSQL), with every filter applied inside it. The
total is the window's size, exact up to ``TOTAL_CAP``; a full window means
"more than ``TOTAL_CAP``" (the total is then ``TOTAL_CAP``, a lower bound). The window is ranked by relevance (FTS5's bm25,
PostgreSQL's ``ts_rank``), ties by file code, and a page of it is returned.
So a phrase that matches a hundred thousand files costs as much as one that
matches a thousand: nothing counts or ranks every match. Without words the
window is the first files in file-code order, from the primary key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from central.web.records import MODES, unaccent

TOTAL_CAP = 1000  # an exact total up to this many matches; beyond it, "more than TOTAL_CAP"
PREFIX_BELOW = 50  # the last word is a prefix only when, whole, it finds fewer (a page's worth)
_WORD = re.compile(r"[0-9a-z]+")
_CODE_LIKE = re.compile(r"[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*")  # no space, a digit: maybe part of a file code
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_ROW = ("r.file_code, r.title, r.mode, r.doc_type, r.issuer, r.start_date, r.end_date, r.documents, r.pages, "
        "r.device_id, s.commune, s.province")


@dataclass(frozen=True)
class Found:
    """One page of a search: *total* matches (more than that when *total_is_lower_bound*), *rows* in rank order."""

    total: int
    total_is_lower_bound: bool
    rows: list[dict]


def _fts_query(words: list[str], prefix: bool) -> str:
    # Each word a quoted term, the last one also a prefix (as typed so far): the user's text is never FTS5 syntax.
    return " ".join(f'"{w}"' for w in words) + ("*" if prefix else "")


def _ts_query(words: list[str], prefix: bool) -> str:
    return " & ".join(words) + (":*" if prefix else "")


def _filters(modes, commune, doc_type, issuer, since, until) -> tuple[list[str], list]:
    where, params = [f"r.mode IN ({','.join('?' * len(modes))})"], list(modes)
    if commune:
        where.append("s.commune = ?")
        params.append(commune)
    if doc_type:  # one value, or its spellings: a TT 05 code as ingest stores it and the type's name
        kinds = (doc_type,) if isinstance(doc_type, str) else tuple(doc_type)
        where.append(f"r.doc_type IN ({','.join('?' * len(kinds))})")
        params += kinds
    if issuer:
        where.append("r.issuer = ?")
        params.append(issuer)
    if _DATE.fullmatch(since):  # record files whose dates reach into [since, until]
        where.append("(r.end_date <> '' AND r.end_date >= ? OR r.end_date = '' AND r.start_date >= ?)")
        params += [since, since]
    if _DATE.fullmatch(until):
        where.append("r.start_date <> '' AND r.start_date <= ?")
        params.append(until + "~")  # a whole day: '2024-01-05T..' and '2024-01-05' both sort before it
    return where, params


def _window(state, q: str, words: list[str], where: list[str], params: list, size: int) -> list[tuple[str, float]]:
    """``[(file_code, score)]`` of at most *size* matching record files, higher score more relevant.

    The last word is taken whole, and as a prefix (as typed so far) only when whole it finds fewer than
    ``PREFIX_BELOW``: a prefix of a common word makes the index gather every word it begins, the costliest
    part of a search, and a word typed in full is what most searches send.
    """
    if not words:
        return list(_run(state, None, where, params, size).items())
    hits = _run(state, words, where, params, size, prefix=False)
    if len(hits) < PREFIX_BELOW:
        hits = _run(state, words, where, params, size, prefix=True)
    if state.backend != "sqlite" and len(hits) < size and _CODE_LIKE.fullmatch(q.strip()):
        # A code, or part of one: the trigram index finds it anywhere in a file code. A window of its own on
        # its own index (an OR of the two makes the planner scan the table), merged after the text's.
        code_like = _code_pattern(q)
        for code, score in _run(state, None, where + ["r.file_code ILIKE ?"], params + [code_like], size,
                                ordered=False).items():
            hits.setdefault(code, score)
    return list(hits.items())[:size]


def _code_pattern(q: str) -> str:
    # a file code has no "_" or "%": dropping them keeps the user's text from being a LIKE pattern
    return "%" + q.strip().replace("_", "").replace("%", "") + "%"


def _run(state, words: list[str] | None, where: list[str], params: list, size: int,
         prefix: bool = False, ordered: bool = True) -> dict[str, float]:
    join = " LEFT JOIN stations s ON s.device_id=r.device_id" if any(w.startswith("s.") for w in where) else ""
    cond = " AND ".join(where)
    if not words:
        # Without words: the first by file code (the primary key's order). A trigram window is not *ordered*:
        # sorting its matches would make the planner walk the primary key and test every file code.
        order = " ORDER BY r.file_code" if ordered else ""
        sql = f"SELECT r.file_code, 0.0 AS score FROM web_records r{join} WHERE {cond}{order} LIMIT ?"
        args = (*params, size)
    elif state.backend == "sqlite":
        # The file code is in the indexed text too (its parts are tokens), so one FTS5 match covers both.
        # bm25() is lower for a better match.
        sql = (f"SELECT r.file_code, -bm25(web_records_fts) AS score FROM web_records_fts f "
               f"JOIN web_records r ON r.file_code = f.file_code{join} "
               f"WHERE web_records_fts MATCH ? AND {cond} LIMIT ?")
        args = (_fts_query(words, prefix), *params, size)
    else:
        # The tsquery is the indexed expression's own operator on the stored column: each partition's GIN index
        # answers it, and LIMIT stops the scan (and the Append over the partitions) at the window's size.
        # ts_rank normalised by document length (1).
        tsquery = _ts_query(words, prefix)
        sql = (f"SELECT r.file_code, ts_rank(r.search_tsv, to_tsquery('simple', ?), 1) AS score "
               f"FROM web_records r{join} WHERE r.search_tsv @@ to_tsquery('simple', ?) AND {cond} LIMIT ?")
        args = (tsquery, tsquery, *params, size)
    with state.tx() as db:
        return {r["file_code"]: float(r["score"]) for r in db.execute(sql, args).fetchall()}


def search(state, q: str, *, modes: tuple[str, ...] = MODES, commune: str = "", doc_type: str | tuple = "",
           issuer: str = "", since: str = "", until: str = "", limit: int = 50, offset: int = 0,
           cap: int = TOTAL_CAP, readable: tuple[str, ...] | None = None) -> Found:
    """Record files matching every word of *q* and the filters, most relevant first.

    Words match the text of a record file only in the *readable* modes (all of *modes* when None); in
    the other modes, and always for a secret record file (it has no text here), a record file matches by
    its file code only, so a search never tells which restricted record files hold a word (A03). On
    SQLite a code matches by its parts (``2024.003`` finds ``H01.001.2024.003``);
    on PostgreSQL any part of it does (trigrams). At most *cap* matches are
    counted and ranked (see the module's docstring). *doc_type* is one value or a tuple of
    alternatives; no *modes* finds nothing.
    """
    if not modes:
        return Found(0, False, [])
    words = _WORD.findall(unaccent(q))[:12]
    text_modes = modes if readable is None or not words else tuple(m for m in modes if m in readable)
    window: list[tuple[str, float]] = []
    if text_modes:
        where, params = _filters(text_modes, commune, doc_type, issuer, since, until)
        window = _window(state, q, words, where, params, cap + 1)
    code_modes = tuple(m for m in modes if m not in text_modes)
    if code_modes and len(window) <= cap and _CODE_LIKE.fullmatch(q.strip()):
        where, params = _filters(code_modes, commune, doc_type, issuer, since, until)
        like = "ILIKE" if state.backend != "sqlite" else "LIKE"  # SQLite's LIKE ignores ASCII case already
        seen = {code for code, _ in window}
        for code, score in _run(state, None, where + [f"r.file_code {like} ?"], params + [_code_pattern(q)],
                                cap + 1 - len(window), ordered=False).items():
            if code not in seen:
                window.append((code, score))
    total, lower_bound = min(len(window), cap), len(window) > cap
    window.sort(key=lambda hit: (-hit[1], hit[0]))
    page = [code for code, _ in window[offset:offset + max(0, limit)]]
    if not page:
        return Found(total, lower_bound, [])
    with state.tx() as db:
        rows = db.execute(f"SELECT {_ROW} FROM web_records r LEFT JOIN stations s ON s.device_id=r.device_id "
                          f"WHERE r.file_code IN ({','.join('?' * len(page))})", tuple(page)).fetchall()
    by_code = {r["file_code"]: dict(r) for r in rows}
    return Found(total, lower_bound, [by_code[c] for c in page if c in by_code])
