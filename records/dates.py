"""The issued date of a document's first page (design §6.3 L5).

A date line is found in words ("…, ngày 15 tháng 7 năm 2020", also wrapped over
two lines) or, after a place and a comma, in figures ("Tân Phú, 05/3/2024"); the
candidate under the national motto wins over a place-and-date line elsewhere,
which wins over "Hôm nay, ngày …", and a labelled field of a form ("Ngày sinh:")
never counts. Each value comes with the features the confidence model reads.
"""

from __future__ import annotations

import datetime as dt
import re

from records import layout as L
from records.confidence import DOUBT

# in a date's digit places, folded: letters OCR returns for digits of the italic date line
# ("1Š" for 15, "T1" for 11, "Ø7" for 07); a date so mended is marked (fixed_digits)
_DATE_DIGITS = str.maketrans({"O": "0", "I": "1", "L": "1", "|": "1", "]": "1", "Z": "2", "S": "5", "T": "1",
                              "B": "8", "Ø": "0", "§": "8"})
_D = r"[\dOILSTZBØ§|\]]"
# "thúng" for tháng, "Ì 9" for 19: one letter of the word, one space inside a day or month
_DATE = re.compile(rf"NGAY\s*({_D}(?: ?{_D})?)\s*[,.]?\s*TH[A-Z]NG\s*({_D}(?: ?{_D})?)\s*[,.]?\s*N[A-Z]M\s*({_D}{{4}})")
_PLACE_BEFORE = re.compile(r"[A-Z]{2,}[^,:]*,\s*(?:NGAY\s*)?$")  # "Tân Phú, ngày" before a numeric date
_NUMERIC_DATE = re.compile(r"(?<![\d/])([0-3]?\d)\s*[/.-]\s*([01]?\d)\s*[/.-]\s*((?:19|20)\d\d)(?!\d)")
# "V/v" as OCR returns it (V/w, V/y, VIv, V.v), or spelt out


def _date_in(s: L.Segment) -> tuple[str, dict] | None:
    f = s.folded
    m = _DATE.search(f)
    kind = "words"
    if m is None:
        m = _NUMERIC_DATE.search(f)
        kind = "numeric"
        if m is None:
            return None
        before = f[:m.start()]
        if ":" in before or not _PLACE_BEFORE.search(before):
            # a labelled field of a form ("Ngày sinh: 01/02/1990") or a date in the text ("từ ngày
            # 12/08/2021"), not the issued date, which follows its place and a comma
            return None
    raw = [g.replace(" ", "") for g in m.groups()]
    groups = [g.translate(_DATE_DIGITS) for g in raw]
    valid = float(_is_date(groups))
    if not valid and groups != raw:
        # a letter after a figure that cannot begin a two-figure day (4-9) or month (2-9) is a
        # mark beside it ("tháng 5Š"), not a digit
        shorter = [g[0] if len(g) == 2 and r[1] not in "0123456789" and g[0] >= first else g
                   for g, r, first in zip(groups, raw, ("4", "2", ":"))]
        if not _is_date(shorter):
            return None  # letters read as digits that make no date: the mending guessed wrong
        groups, valid = shorter, 1.0
    d, mo, y = (int(g) for g in groups)
    before = f[:m.start()]
    place = 1.0 if re.search(r"[A-Z]{2,}.*,\s*$", before) else 0.0
    label = 1.0 if ":" in before else 0.0
    today = 1.0 if "HOM NAY" in before else 0.0
    year_ok = 1.0 if 1945 <= y <= dt.date.today().year + 1 else 0.0
    return f"{d:02d}/{mo:02d}/{y:04d}", {"valid": valid, "place": place, "label": label, "today": today,
                                         "numeric": float(kind == "numeric"), "year_ok": year_ok,
                                         "fixed_digits": float(groups != list(m.groups()))}


def _is_date(groups: list[str]) -> bool:
    try:
        dt.date(int(groups[2]), int(groups[1]), int(groups[0]))
    except ValueError:
        return False
    return True


def issued_date(lay: L.PageLayout, reread: list | None = None, large: list | None = None) -> tuple[str, dict, list]:
    """(dd/mm/yyyy, features, segments) of the page's issued date; *reread*: its line read again (L5a),
    *large*: read a third time, enlarged (L5b)."""
    found = []
    for s in lay.segments:
        r = _date_in(s)
        parts = [s]
        if r is None and "NGAY" in s.folded and "NAM" not in s.folded.split("NGAY")[-1]:
            # "…, ngày 15 tháng 7" over "năm 2020": a place-and-date line wrapped onto the next line
            nxt = L.line_under(lay, s)
            if nxt is not None:
                parts = [s, nxt]
                s = L.Segment(s.words + nxt.words)
                r = _date_in(s)
        if r is None:
            continue
        value, feats = r
        header = 0.0
        if lay.nation is not None and s.y0 >= lay.nation.y0 and s.y0 <= lay.header_bottom + 35 * lay.mm \
                and not lay.in_left(s):
            header = 1.0
        # L5: under the motto; else a place-and-date line; else "Hôm nay, ngày …"; never a label
        rank = (header, feats["place"], feats["today"], -feats["label"])
        found.append((rank, -s.y0, value, feats, s, parts))
    if not found:
        return "", {"found": 0.0}, []
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    _rank, _y, value, feats, s, parts = found[0]
    others = {v for _r, _y2, v, _f, _s, _p in found[1:] if _r[:3] == _rank[:3]}
    mean, low = L.conf_of([s])
    feats = dict(feats, found=1.0, header=_rank[0], conf=mean, min_conf=low,
                 rivals=float(bool(others - {value})), candidates=float(len(found)),
                 wrapped=float(len(parts) > 1))
    # L5a: the line read a second time, from another image of the page; L5b: a third time, that
    # image at twice its size. Each read votes for its date, a read whose figures were mended
    # (fixed_digits: an S is a 5 or an 8) with half a vote; the page's read keeps a tie. A second read
    # against the page's, or a vote the page's read lost, means a digit was misread somewhere, and
    # nobody can tell for sure without looking. The enlarged read alone against the other two is
    # not held: it misreads more often than they do (design §6.3 L5b has the counts).
    single = len(parts) == 1
    reads = [(value, feats["fixed_digits"])]
    for words in (reread, large):
        other = _date_in(L.Segment(tuple(words))) if words and single else None
        reads.append(None if other is None else (other[0], other[1]["fixed_digits"]))
    again, third = reads[1], reads[2]
    feats["reread"] = float(again is not None)
    feats["reread_agree"] = float(again is not None and again[0] == value)
    feats["third_agree"] = float(third is not None and third[0] == value)
    votes: dict[str, float] = {}
    for read in reads:
        if read is not None:
            votes[read[0]] = votes.get(read[0], 0.0) + (0.5 if read[1] else 1.0)
    best = max(votes.values())
    lost = votes[value] < best
    if lost:
        value = next(v for v, n in votes.items() if n == best)
    # L5: a date neither under the motto, nor after a place, nor "Hôm nay": one of the text's, a guess
    feats[DOUBT] = float(not (feats["header"] or feats["place"] or feats["today"])
                         or (again is not None and not feats["reread_agree"]) or lost)
    return value, feats, parts
