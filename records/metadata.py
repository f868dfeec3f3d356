"""Document metadata from first-page OCR: number and notation, date, issuing body, subject.

Patterns run on accent-folded text (design §6.3) so lost diacritics do not
matter; values are returned from the original text where it keeps them. Each
field has a confidence 0..1 that the caller compares with its threshold.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from records.classify import Classification
from records.text import fold, fuzzy_score

# "Số" with any (or no) accent on the o, as OCR returns it; the notation keeps Đ.
_NUMBER = re.compile(r"\b[Ss][^\W\d_]?\s*[:;.,]?\s*(\d{1,11})\s*/\s*([0-9A-Za-zĐđ][0-9A-Za-zĐđ\-/.]{0,40})")
_DATE = re.compile(r"NG[AÀ]Y\s*(\d{1,2})\s*TH[AÁ]NG\s*(\d{1,2})\s*N[AĂ]M\s*(\d{4})")
_ORGAN_PREFIX = ("UY BAN NHAN DAN", "HOI DONG NHAN DAN", "CONG AN", "VAN PHONG", "PHONG ", "SO ",
                 "TRUONG", "BENH VIEN", "TRAM Y TE", "TOA AN", "BAN ", "DANG UY", "CHI CUC")
_HEADER_WORDS = ("CONG HOA XA HOI CHU NGHIA VIET NAM", "DOC LAP - TU DO - HANH PHUC")


@dataclass
class Extracted:
    """Values and confidences of the document fields read from the first page."""

    values: dict = field(default_factory=dict)
    confidence: dict = field(default_factory=dict)

    def set(self, name: str, value: str, conf: float) -> None:
        self.values[name] = value
        self.confidence[name] = round(conf, 3)


def number_notation(lines: list[str]) -> tuple[str, str, float]:
    """("12", "QĐ-UBND", confidence) from a line such as ``Số: 12/QĐ-UBND``."""
    for line in lines[:15]:
        m = _NUMBER.search(line)
        if m and fold(line[m.start():m.start() + 2]) in ("SO", "S0", "S"):
            exact = line[m.start():m.start() + 2] in ("Số", "SỐ")
            notation = m.group(2).rstrip(".-/")
            return m.group(1), notation[:30], 0.95 if exact else 0.75
    return "", "", 0.0


def issued_date(lines: list[str]) -> tuple[str, float]:
    """"DD/MM/YYYY" from ``…, ngày 05 tháng 3 năm 2001`` (accent-insensitive)."""
    for line in lines[:20]:
        m = _DATE.search(fold(line))
        if not m:
            continue
        d, mo, y = (int(g) for g in m.groups())
        try:
            dt.date(y, mo, d)
        except ValueError:
            return f"{d:02d}/{mo:02d}/{y:04d}", 0.3
        return f"{d:02d}/{mo:02d}/{y:04d}", 0.95 if "ngày" in line.lower() else 0.8
    return "", 0.0


def organ(lines: list[str]) -> tuple[str, float]:
    """The issuing body: the first header line that is not the national motto."""
    for line in lines[:6]:
        fl = fold(line)
        for header in _HEADER_WORDS:
            if header in fl:
                # the two header columns may come out as one line: keep the left part
                cut = fl.find(header)
                if cut <= 3:
                    fl, line = "", ""
                else:
                    line = line[:cut].strip()
                    fl = fold(line)
        if len(fl) < 4 or fl.startswith("SO") and _NUMBER.search(line):
            continue
        conf = 0.85 if fl.startswith(_ORGAN_PREFIX) else 0.45
        if max(fuzzy_score(h, fl) for h in _HEADER_WORDS) > 0.8:
            continue
        return line.strip(" -–—:;,.")[:200], conf
    return "", 0.0


def subject(lines: list[str], cls: Classification) -> tuple[str, float]:
    """The line after the title when it reads ``Về việc …``; else the title."""
    if 0 <= cls.title_line < len(lines) - 1:
        nxt = lines[cls.title_line + 1]
        if fold(nxt).startswith(("VE VIEC", "V/V")):
            return nxt[:500], 0.9
        if 0 < len(nxt) <= 120 and cls.type_conf > 0:
            return nxt[:500], 0.6
    if cls.title_line >= 0:
        return lines[cls.title_line][:500], 0.5
    return "", 0.0


def extract(lines: list[str], cls: Classification) -> Extracted:
    """All first-page fields with their confidences (keys are EAD_DOC field names)."""
    out = Extracted()
    out.set("typeName", cls.type_code, cls.type_conf)
    out.set("group", cls.group, cls.group_conf)
    num, notation, c = number_notation(lines)
    out.set("codeNumber", num, c)
    out.set("codeNotation", notation, c)
    date, c = issued_date(lines)
    out.set("issuedDate", date, c)
    body, c = organ(lines)
    out.set("organName", body, c)
    subj, c = subject(lines, cls)
    out.set("subject", subj, c)
    return out
