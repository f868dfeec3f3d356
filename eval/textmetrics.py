"""Character error rates, computed the same way for the station and every baseline.

Normalisation: Unicode NFC, every run of white space (line breaks included)
collapsed to one space, ends trimmed; case is kept. "Without diacritics" also
removes combining marks after NFD and maps Đ/đ to D/d.

Two rates:
- reading order (``cer_strict``): edit distance between the page's ground-truth
  lines joined in reading order and the engine's text, over the ground truth's
  length;
- line order free (``cer_lines``): each ground-truth line, longest first, is
  matched to its closest stretch of the engine's text (Sellers' algorithm: edit
  distance with a free start and end), which is then used up; leftover
  characters of the engine's text (white space aside) count as insertions. A
  two-column header read column by column, or its columns read across, then costs
  only the characters actually misread.
Totals are micro-averages: errors summed over pages, over characters summed.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

_WS = re.compile(r"\s+")


def normalize(text: str, diacritics: bool = True) -> str:
    text = unicodedata.normalize("NFC", text)
    if not diacritics:
        text = text.replace("Đ", "D").replace("đ", "d")
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        text = unicodedata.normalize("NFC", text)
    return _WS.sub(" ", text).strip()


def _codes(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32)


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute: cost 1 each)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    bb = _codes(b)
    idx = np.arange(len(b) + 1, dtype=np.int32)
    prev = idx.copy()
    tmp = np.empty_like(prev)
    for i, ch in enumerate(a, 1):
        tmp[0] = i
        np.minimum(prev[1:] + 1, prev[:-1] + (bb != ord(ch)), out=tmp[1:])
        prev = np.minimum.accumulate(tmp - idx) + idx
    return int(prev[-1])


def _infix_end(p: str, t: np.ndarray) -> tuple[int, int]:
    """(distance, end) of the best match of *p* inside code array *t* (free start and end)."""
    n = t.size
    idx = np.arange(n + 1, dtype=np.int32)
    prev = np.zeros(n + 1, dtype=np.int32)
    tmp = np.empty_like(prev)
    for i, ch in enumerate(p, 1):
        tmp[0] = i
        np.minimum(prev[1:] + 1, prev[:-1] + (t != ord(ch)), out=tmp[1:])
        prev = np.minimum.accumulate(tmp - idx) + idx
    end = int(np.argmin(prev))
    return int(prev[end]), end


def infix(p: str, t: str) -> tuple[int, int, int]:
    """(distance, start, end) of the stretch of *t* closest to *p*."""
    codes = _codes(t)
    dist, end = _infix_end(p, codes)
    _d2, rend = _infix_end(p[::-1], codes[:end][::-1])
    return dist, end - rend, end


def errors_strict(truth_lines: list[str], text: str, diacritics: bool = True) -> tuple[int, int]:
    """(errors, ground-truth characters) in reading order."""
    gt = normalize(" ".join(truth_lines), diacritics)
    return levenshtein(gt, normalize(text, diacritics)), len(gt)


def errors_lines(truth_lines: list[str], text: str, diacritics: bool = True) -> tuple[int, int]:
    """(errors, ground-truth characters), each line matched wherever it was read."""
    lines = [normalize(x, diacritics) for x in truth_lines]
    lines = [x for x in lines if x]
    total = sum(len(x) for x in lines)
    rest = "\n".join(normalize(x, diacritics) for x in text.splitlines())
    errors = 0
    for line in sorted(lines, key=len, reverse=True):
        if not rest.strip("\n\x00 "):
            errors += len(line)
            continue
        d, s, e = infix(line, rest)
        if d >= len(line):
            errors += len(line)
            continue
        errors += d
        rest = rest[:s] + "\x00" + rest[e:]
    errors += sum(1 for c in rest if not c.isspace() and c != "\x00")
    return errors, total


def page_rates(truth_lines: list[str], text: str) -> dict:
    """All four counts for one page: strict/lines x with/without diacritics."""
    out = {}
    for name, fn in (("strict", errors_strict), ("lines", errors_lines)):
        for dia, tag in ((True, ""), (False, "_nodia")):
            e, n = fn(truth_lines, text, dia)
            out[f"{name}{tag}"] = [e, n]
    return out
