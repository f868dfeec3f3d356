"""Accent-insensitive, error-tolerant text matching for OCR output.

OCR of Vietnamese loses or confuses diacritics and letters; matching folds both
sides to upper-case ASCII (Đ -> D) and allows a bounded number of edits.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Upper-case, strip diacritics (Đ/đ -> D), collapse white space."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped.upper()).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest single-letter insertions, deletions and substitutions from *a* to *b*."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def best_substring_distance(pattern: str, text: str) -> int:
    """Smallest edit distance between *pattern* and any substring of *text*.

    Sellers' algorithm: Levenshtein with a free start and end in *text*.
    """
    if not pattern:
        return 0
    prev = list(range(len(pattern) + 1))
    best = prev[-1]
    for ch in text:
        cur = [0]
        for i, pc in enumerate(pattern, 1):
            cost = 0 if pc == ch else 1
            cur.append(min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + cost))
        best = min(best, cur[-1])
        prev = cur
    return best


def word_substring_distance(pattern: str, text: str) -> int:
    """Smallest edit distance between *pattern* and a run of whole words of *text*.

    As :func:`best_substring_distance`, but the matched stretch of *text* must start
    and end at a word's edge (an end of the text, or next to a character that is not
    a letter or digit): "GIAY CHUNG SINH" is two edits from "GIAY CHUNG NH", the
    inside of "GIAY CHUNG NHAN", but more from any run of whole words of it.
    """
    if not pattern:
        return 0
    n = len(text)
    far = len(pattern) + n + 1
    prev = list(range(len(pattern) + 1))  # column 0: a match may start at the text's start
    best = prev[-1] if n == 0 or not text[0].isalnum() else far
    for j in range(1, n + 1):
        ch = text[j - 1]
        cur = [far if ch.isalnum() else 0]  # a match may start only after a non-word character
        for i, pc in enumerate(pattern, 1):
            cost = 0 if pc == ch else 1
            cur.append(min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + cost))
        if j == n or not text[j].isalnum():
            best = min(best, cur[-1])
        prev = cur
    return min(best, far)


def fuzzy_score(pattern: str, text: str) -> float:
    """1.0 for an exact (folded) occurrence of *pattern* in *text*, down to 0.0."""
    p, t = fold(pattern), fold(text)
    if not p:
        return 0.0
    if p in t:
        return 1.0
    return max(0.0, 1.0 - best_substring_distance(p, t) / len(p))
