"""Place names read against the national list of administrative units (design §6.3 L4a).

A body's name ends with a place ("ỦY BAN NHÂN DÂN XÃ ĐƯỜNG LÂM") that OCR often
reads with other tone marks ("ĐƯƠNG LAM", "CẦM THÀNH" for Cẩm Thành): the marks are
small, the header is printed in bold capitals, and a stamp or a photocopy blurs them.
Unlike the body's fixed words, the place is a proper name, but not a free one: it is
a province, district or commune of the General Statistics Office's list of
administrative units, which the ``vietnam-provinces`` package carries (data as of
2025-01-04, the units before the July 2025 reorganisation, which are the ones the
archived records name). A place whose letters, marks aside, are those of exactly one
listed name, and which is not itself a listed name, is that name misread; it is
spelt as listed. Anything else is left as read and said so (:class:`PlaceRead`),
for the value's confidence.

The station never guesses between two listed names: "THANH LỢI" is kept when both
Thanh Lợi and Thạnh Lợi exist, whatever the place-and-date line says.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import NamedTuple

from records.text import edit_distance, fold

# The unit words the list puts before each name ("Xã Đường Lâm", "Thành phố Hà Nội").
_UNIT_PREFIX = re.compile(r"^(?:Thành phố|Tỉnh|Quận|Huyện|Thị xã|Phường|Xã|Thị trấn)\s+", re.IGNORECASE)
# Old-style tone placement (hòa, thủy, khỏe), which most administrative documents print; the list
# mixes both styles ("Tân Hòa", "Tân Hoà"), so names are compared and spelt in this one.
_NEW_STYLE = re.compile(r"([oOuU])([aAeEyY])([\u0300\u0301\u0303\u0309\u0323])(?![^\W\d_])")


def _old_style(text: str) -> str:
    """*text* (NFC) with a tone written on the second vowel of oa/oe/uy at a word's end moved to the first."""
    nfd = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", _NEW_STYLE.sub(r"\1\3\2", nfd))


def _key(name: str) -> str:
    return fold(name).replace(" ", "")


def _spelt(text: str) -> str:
    """*text* as listed names are kept: NFC, single spaces, old-style tones, upper case."""
    return _old_style(unicodedata.normalize("NFC", " ".join(text.split()))).upper()


class PlaceRead(NamedTuple):
    """A place as the station takes it: its spelling and how the list bore on it."""

    text: str
    how: str        # "listed": read as a listed name; "mended": marks mended to the one listed name with
                    # its letters; "dated": several listed names share its letters, and the place-and-date
                    # line read one of them; "ambiguous": several do, none read; "unlisted": none has them


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, frozenset[str]]:
    """Listed names (upper case, old-style tones) by their letters folded without spaces."""
    from vietnam_provinces import FLAT_DIVISIONS_JSON_PATH  # data only: loaded on first use

    rows = json.loads(FLAT_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    by_key: dict[str, set[str]] = {}
    for row in rows:
        for col in ("province_name", "district_name", "ward_name"):
            name = _old_style(_UNIT_PREFIX.sub("", row[col]).strip()).upper()
            if name:
                by_key.setdefault(_key(name), set()).add(name)
    return {k: frozenset(v) for k, v in by_key.items()}


def spell_place(read: str, dated: str = "") -> PlaceRead:
    """*read* (a place after its unit word, as OCR gave it) against the list of administrative units.

    *dated* is the same place as the place-and-date line reads it (another line, often
    another font): it settles which of several listed names with the same letters a
    place that is none of them is, when it reads one of them exactly.
    """
    read = " ".join(read.split())
    if not read:
        return PlaceRead(read, "unlisted")
    names = _names().get(_key(read), frozenset())
    upper = _spelt(read)
    if upper in names:
        return PlaceRead(read, "listed")
    # a listed name read with its words glued ("EAKTUR") is listed too, spaced as listed
    spaced = [n for n in names if n.replace(" ", "") == upper.replace(" ", "")]
    if len(spaced) == 1:
        return PlaceRead(spaced[0], "listed")
    if len(names) == 1:
        return PlaceRead(next(iter(names)), "mended")
    other = _dated(dated)
    if other and (other in names or (not names and len(_key(read)) >= 6
                                      and edit_distance(_key(read), _key(other)) <= 1)):
        # two reads of one place: the header's (none of the names with its letters, or one letter
        # off any name, "ĐIỂÊN") and the place-and-date line's, a listed name one of them could be
        return PlaceRead(other, "dated")
    return PlaceRead(read, "ambiguous" if names else "unlisted")


def _dated(dated: str) -> str:
    """The place-and-date line's place spelt as listed when it reads a listed name (one with its letters)."""
    upper = _spelt(dated)
    names = _names().get(_key(upper), frozenset()) if upper else frozenset()
    if upper in names:
        return upper
    return next(iter(names)) if len(names) == 1 else ""
