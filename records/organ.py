"""The issuing body, from its place in the header (design §6.3 L4, L4a).

Nghị định 30/2020 prints the issuing body's name at the top left (ô 2), under the
body it answers to when there is one ("UBND HUYỆN …" over "ỦY BAN NHÂN DÂN XÃ …").
:func:`issuing_body` takes the name from there, leaves the parent line and lines of
noise out, spells the fixed words of the name (:mod:`records.bodies`) and the place
after its unit (:mod:`records.places`), and returns the features the confidence
model reads. A land-use certificate has no header column: its body is the one that
signs it ("TM. ỦY BAN NHÂN DÂN"), of the district its place-and-date line names.
"""

from __future__ import annotations

import re

from records import layout as L
from records.bodies import space_place, spell_body_line, spell_body_lines
from records.confidence import DOUBT
from records.places import spell_place
from records.text import edit_distance, fold

# Bodies' names begin with one of these (folded); an abbreviation or a place alone marks a parent line.
BODY_PREFIXES = ("UY BAN NHAN DAN", "HOI DONG NHAN DAN", "CONG AN", "VAN PHONG", "PHONG ", "SO ", "TRUONG ",
                 "BENH VIEN", "TRAM Y TE", "TOA AN", "BAN ", "DANG UY", "CHI CUC", "CUC ", "MAT TRAN", "DOAN ",
                 "HOI ", "BO ", "TONG CUC", "VIEN ", "TRUNG TAM", "CHI NHANH", "THANH TRA", "KHO BAC", "CHI CUC",
                 "BAN CHI HUY", "QUAN DOI", "TRAM ", "HOP TAC XA")
PARENT_PREFIXES = ("UBND ", "HDND ", "HUYEN ", "TINH ", "THANH PHO ", "QUAN ", "THI XA ", "XA ", "PHUONG ",
                   "DANG BO ", "BO ")


def _is_parent(first: str, second: str) -> bool:
    """Is *first* (folded) the higher body printed above the issuing body *second*?"""
    if not second.startswith(BODY_PREFIXES):
        return False
    if first.startswith(PARENT_PREFIXES):
        return True
    # the parent's abbreviation misread by a letter or glued to its unit ("ĐBND HUYỆN", "UBNDTỈNH")
    m = _MISREAD_PARENT.match(first)
    if m and any(edit_distance(m.group(1), a) <= 1 for a in ("UBND", "HDND")):
        return True
    # two whole names ("CÔNG AN HUYỆN …" over "CÔNG AN XÃ …"): the first is the parent
    for p in BODY_PREFIXES:
        if first.startswith(p) and len(first) > len(p) + 2 and len(second) > len(p) + 2 \
                and second.startswith(p):
            return True
    return False


_EDGE_NOISE = " -–—:;,._|'\"‘’`"
_MISREAD_PARENT = re.compile(r"([A-Z]{4}) ?(?:HUYEN|TINH|THANH PHO|QUAN|THI XA) [A-Z]")
_UNITS = ("XA", "PHUONG", "THI TRAN", "HUYEN", "THI XA", "QUAN", "THANH PHO", "TINH")


def _place_of(text: str) -> str:
    """The place a body's name or a place-and-date line ends with, after its unit word (upper case)."""
    words = text.split()
    folded = [fold(w) for w in words]
    for i in range(len(words) - 1, -1, -1):
        for unit in _UNITS:
            k = len(unit.split())
            if folded[i:i + k] == unit.split() and i + k < len(words):
                return " ".join(words[i + k:]).upper().strip(" ,.")
    return ""


_ON_BEHALF = re.compile(r"^T\s*[./]?\s*M\s*[.,:]?\s+(?=[A-Z])")  # "TM." (thay mặt), folded
LAND_CERTIFICATE = "GIAY CHUNG NHAN QUYEN SU DUNG DAT"


def _signing_body(lay: L.PageLayout, date_segs: list, land: bool) -> tuple[str, dict, list]:
    """L4, a land-use certificate: the body that signs it ("TM. ỦY BAN NHÂN DÂN") and the place-and-date
    line's district.

    A certificate has no header column; a household's or an individual's certificate is
    issued by the district's People's Committee (Luật Đất đai 2013 Điều 105), whose
    chairman signs on its behalf under the place-and-date line, which names the district.
    """
    if not land or not date_segs:
        return "", {}, []
    place = date_segs[0].text.split(",")[0].strip(_EDGE_NOISE)
    if not place or len(place) > 40:
        return "", {}, []
    for s in lay.segments:
        if s.y0 < date_segs[0].y0:
            continue
        m = _ON_BEHALF.match(s.folded)
        if m is None:
            continue
        words = s.text.split()
        rest = " ".join(words[len(s.folded[:m.end()].split()):])
        name, mended = spell_body_line(rest)
        if fold(name) != "UY BAN NHAN DAN":
            return "", {}, []
        mean, low = L.conf_of([s] + date_segs[:1])
        text = f"{name} HUYỆN {spell_place(_place_of(place) or place.upper()).text}"
        return text, {"found": 1.0, "conf": mean, "min_conf": low, "lines": 1.0, "signature": 1.0,
                      "mended": float(bool(mended)), "prefix": 1.0, "upper": s.upper}, [s, date_segs[0]]
    return "", {}, []


# A Vietnamese syllable (folded): an initial consonant, a vowel group, a final consonant (Quốc ngữ
# spelling); abbreviations of bodies and units (UBND, HĐND) are fixed words, matched as such.
_SYLLABLE = re.compile(r"(?:NGH|NG|NH|CH|GH|GI|KH|PH|QU|TH|TR|[BCDGHKLMNPQRSTVX])?"
                       r"[AEIOUY]{1,3}(?:NG|NH|CH|[CMNPT])?")


def _noise_line(folded: str) -> bool:
    """Is *folded* no line of a body's name: none of its words a fixed word, most of them no syllable?"""
    glued = folded.replace(" ", "")
    if folded.startswith(BODY_PREFIXES) or folded.startswith(PARENT_PREFIXES) or _MISREAD_PARENT.match(folded) \
            or any(glued.startswith(p.replace(" ", "")) for p in BODY_PREFIXES + PARENT_PREFIXES):
        return False
    words = [w for w in re.split(r"[^A-Z]+", folded) if len(w) > 1]
    if not words:
        return True
    odd = [w for w in words if not _SYLLABLE.fullmatch(w) and w not in ("UBND", "HDND")]
    # a long run no syllable can be, and most words such: names of minorities' places ("DRAY BHĂNG")
    # are short words, never taken for noise
    return len(odd) * 2 > len(words) and max(len(w) for w in odd) >= 8


def _without_speck(s: L.Segment) -> L.Segment:
    """*s* less a first word that is a speck read as a letter before a body's name ("N ỦY BAN …").

    A letter the fixed words take in stays ("Y BAN NHÂN DÂN" is ỦY BAN with its Ủ lost).
    """
    rest = s.words[1:]
    if not rest or len(fold(s.words[0].text).strip(_EDGE_NOISE)) > 1 \
            or fold(spell_body_line(s.text)[0]).startswith(BODY_PREFIXES + PARENT_PREFIXES) \
            or not fold(" ".join(w.text for w in rest)).startswith(BODY_PREFIXES):
        return s
    return L.Segment(rest)


def _ends_with_unit(text: str) -> bool:
    """Does a body's name stop at its unit ("ỦY BAN NHÂN DÂN XÃ"), its place lost?"""
    folded = fold(text).strip(_EDGE_NOISE)
    return any(folded == u or folded.endswith(" " + u) for u in _UNITS)


def _odd_letters(text: str) -> float:
    """1.0 when *text* holds a letter Vietnamese does not write (folded outside A-Z: "Ƒ", "ƀ"), a misreading."""
    return float(any(c.isalpha() and not ("A" <= c <= "Z") for c in fold(text)))


def issuing_body(lay: L.PageLayout, date_segs: list, land: bool = False) -> tuple[str, dict, list]:
    """(name, features, segments) of the page's issuing body; *date_segs*: the issued date's line
    (a land-use certificate, *land*, names its body's district there)."""
    lines = lay.organ
    if not lines:
        text, feats, segs = _signing_body(lay, date_segs, land)
        if text:
            return text[:200], feats, segs
        return "", {"found": 0.0, "left_column": float(bool(lay.left_edge)),
                    "number": float(lay.number is not None)}, []
    # a speck of the scan read as punctuation glued to a line (".ỦY BAN …") is not part of the name
    lines = [_without_speck(s) for s in lines]
    folded = [s.folded.strip(_EDGE_NOISE) for s in lines]
    # a stain, a hole's edge or a fold read as letters above the header ("N EEEREEHRE…") is no line of it
    noise = 0.0
    while len(lines) >= 2 and _noise_line(folded[0]):
        lines, folded, noise = lines[1:], folded[1:], 1.0
    parent = 0.0
    if len(lines) >= 2 and _is_parent(folded[0], folded[1]):
        lines = lines[1:]
        folded = folded[1:]
        parent = 1.0
    spelt, n_mended = spell_body_lines([s.text.strip(_EDGE_NOISE) for s in lines])
    text = " ".join(spelt).strip(_EDGE_NOISE)
    mended = float(bool(n_mended))
    mean, low = L.conf_of(lines)
    name = " ".join(folded)
    # the place in the body's name against the place-and-date line's: the same spelling twice is
    # likely right; the same letters with other marks means one of them was misread
    place = _place_of(text)
    before = date_segs[0].text.split(",")[0] if date_segs else ""
    dated = _place_of(before) or before.upper().strip()
    spaced = space_place(place, dated)
    same = float(bool(spaced) and spaced == dated)
    conflict = float(bool(spaced and dated) and spaced != dated and fold(spaced) == fold(dated))
    # the place against the list of administrative units (L4a): a misread mark mended
    listed = spell_place(spaced, dated) if spaced else None
    text = text[:len(text) - len(place)] + (listed.text if listed else "")
    feats = {"found": 1.0, "conf": mean, "min_conf": low, "lines": float(len(lines)), "parent": parent,
             "prefix": float(name.startswith(BODY_PREFIXES)), "number": float(lay.number is not None),
             "upper": min(s.upper for s in lines), "left_column": 1.0, "mended": mended,
             "place_same": same, "place_conflict": conflict, "odd_letters": _odd_letters(text), "noise": noise,
             "place_listed": float(bool(listed) and listed.how == "listed"),
             "place_mended": float(bool(listed) and listed.how in ("mended", "dated")),
             # L4a: a name that ends with its unit and no place, or a place not on the list
             DOUBT: float(_ends_with_unit(text) or (listed is not None and listed.how in ("ambiguous", "unlisted")))}
    return text[:200], feats, lines
