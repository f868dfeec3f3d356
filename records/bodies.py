"""Issuing bodies' names spelt right: the closed vocabulary of Vietnamese administrative body names (design §6.3 L4).

A body's name is a few fixed words from a small closed set (ỦY BAN NHÂN DÂN, PHÒNG
TÀI NGUYÊN VÀ MÔI TRƯỜNG, CÔNG AN, …) followed by a unit (XÃ, HUYỆN, …) and a place.
OCR that misreads a mark or a letter of the fixed words ("MỖI TRƯỜNG" for MÔI,
"Y BAN NHÂN DÂN") gives a name nobody wrote: those words are read against the
vocabulary and spelt as printed. The place after the unit is a proper name and is
left as read. The count of words mended is returned so that the confidence of a value
that needed mending is measured apart (a mended name is more often wrong elsewhere).
"""

from __future__ import annotations

from records.text import edit_distance, fold

# Fixed words of body names (Luật Tổ chức chính quyền địa phương, Nghị định 37/2014 and
# 108/2020 on the district's specialised offices, the mass organisations, the sector
# offices at commune level), longest first so a whole name wins over its parts.
PHRASES = tuple(sorted((
    "ỦY BAN NHÂN DÂN", "HỘI ĐỒNG NHÂN DÂN", "UBND", "HĐND", "CÔNG AN", "VĂN PHÒNG", "PHÒNG", "SỞ", "BAN",
    "CHI CỤC", "CỤC", "TRUNG TÂM", "TRẠM Y TẾ", "BAN CHỈ HUY QUÂN SỰ", "BAN CHỈ HUY", "QUÂN SỰ", "ĐẢNG ỦY",
    "ĐẢNG BỘ", "ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM", "MẶT TRẬN TỔ QUỐC VIỆT NAM", "HỘI LIÊN HIỆP PHỤ NỮ",
    "HỘI NÔNG DÂN", "HỘI CỰU CHIẾN BINH", "ĐOÀN THANH NIÊN CỘNG SẢN HỒ CHÍ MINH", "TÀI NGUYÊN VÀ MÔI TRƯỜNG",
    "TÀI NGUYÊN", "MÔI TRƯỜNG", "TƯ PHÁP", "NỘI VỤ", "TÀI CHÍNH - KẾ HOẠCH", "TÀI CHÍNH", "KẾ HOẠCH",
    "KINH TẾ VÀ HẠ TẦNG", "KINH TẾ", "HẠ TẦNG", "QUẢN LÝ ĐÔ THỊ", "VĂN HÓA VÀ THÔNG TIN", "VĂN HÓA",
    "THÔNG TIN", "Y TẾ", "GIÁO DỤC VÀ ĐÀO TẠO", "LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", "THƯƠNG BINH VÀ XÃ HỘI",
    "NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN", "THANH TRA", "VÀ", "HĐND VÀ UBND", "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI",
    "ĐĂNG KÝ ĐẤT ĐAI", "CHI NHÁNH", "BỆNH VIỆN", "KHO BẠC NHÀ NƯỚC", "BẢO HIỂM XÃ HỘI", "TÒA ÁN NHÂN DÂN",
    "VIỆN KIỂM SÁT NHÂN DÂN", "THI HÀNH ÁN DÂN SỰ", "HỢP TÁC XÃ",
), key=lambda p: len(p.split()), reverse=True))
# The unit the place follows; after it the words are the place's, left as read.
UNITS = ("THỊ TRẤN", "THỊ XÃ", "THÀNH PHỐ", "XÃ", "PHƯỜNG", "HUYỆN", "QUẬN", "TỈNH")
_DASHES = ("-", "–", "—")
_FOLDED = tuple((p, p.split(), fold(p)) for p in PHRASES)
_FOLDED_UNITS = tuple((u, u.split(), fold(u)) for u in UNITS)
# Last words of the fixed phrases ("DAN" of NHÂN DÂN): a unit glued to one of them is split off.
_ONE_WORD_UNITS = tuple(fold(u) for u in UNITS if " " not in u)
_PHRASE_ENDS = frozenset(fold(p).split()[-1] for p in PHRASES) - set(_ONE_WORD_UNITS)  # not "XÃ" of HỢP TÁC XÃ


def _unglue(words: list[str]) -> list[str]:
    """*words* with a unit glued to its neighbours split off ("DÂNXÃNGHI" -> "DÂN", "XÃ", "NGHI").

    OCR drops the narrow spaces of bold capitals. Only a unit word straight after the last
    word of a fixed phrase (or at a word's start) with at least two letters of the place
    after it is split, so that no place's own letters ("XUÂN") are cut.
    """
    out: list[str] = []
    for w in words:
        f = fold(w)
        cut = None
        if len(f) == len(w):  # one folded letter a letter (NFC): positions agree
            for end in ("",) + tuple(sorted(_PHRASE_ENDS, key=len, reverse=True)):
                if not f.startswith(end) or (not end and not out):
                    continue
                for unit in _ONE_WORD_UNITS:
                    rest = f[len(end) + len(unit):]
                    if f[len(end):].startswith(unit) and len(rest) >= 2 and rest.isalpha() \
                            and (end or fold(out[-1]) in _PHRASE_ENDS):
                        cut = (len(end), len(end) + len(unit))
                        break
                if cut:
                    break
        if cut is None:
            out.append(w)
        else:
            out.extend(p for p in (w[:cut[0]], w[cut[0]:cut[1]], w[cut[1]:]) if p)
    return out


def _match(words: list[str], i: int, table) -> tuple[str, int, int] | None:
    """(spelling, words used, words mended) of the first entry of *table* that *words[i:]* starts with.

    Folded equal, or for an entry of 8 letters or more at most one edit in 8 (a lost
    letter, "Y BAN" for ỦY BAN): shorter words must fold equal, since one edit turns
    one short word into another.
    """
    for spelt, parts, folded in table:
        n = len(parts)
        if i + n <= len(words):
            got = " ".join(words[i:i + n])
            g = fold(got)
            if g == folded or (len(folded) >= 8 and edit_distance(g, folded) <= len(folded) // 8):
                return spelt, n, sum(a != b for a, b in zip(words[i:i + n], parts))
        # two of its words read as one ("NHÂNDÂN"): the same letters without the space
        if n >= 2 and i + n - 1 <= len(words) and \
                fold("".join(words[i:i + n - 1])) == folded.replace(" ", ""):
            return spelt, n - 1, n - 1
    return None


def spell_body_lines(lines: list[str]) -> tuple[list[str], int]:
    """The lines of one name, each spelt by :func:`spell_body_line`, and the words mended in all.

    A line after one that reached its unit continues the place ("ỦY BAN NHÂN DÂN XÃ
    NGHI" over "PHONG") and is left as read, unless it starts another name (a fixed
    phrase of two words or more, as under a parent body's line).
    """
    out, mended, place = [], 0, False
    for line in lines:
        words = line.split()
        hit = _match(words, 0, _FOLDED)
        if place and (hit is None or len(hit[0].split()) < 2):
            out.append(line)
            continue
        text, n = spell_body_line(line)
        out.append(text)
        mended += n
        place = _reaches_unit(text)
    return out, mended


def _reaches_unit(text: str) -> bool:
    words = text.split()
    return any(_match(words, i, _FOLDED_UNITS) is not None and i + 1 < len(words) for i in range(len(words)))


def spell_body_line(line: str) -> tuple[str, int]:
    """(*line* with its body-name words and unit spelt as printed, how many of its words were mended).

    The fixed words are read from the start of the line, phrase by phrase, until the
    unit (the place's words after it are kept as read) or a word that is not in the
    vocabulary (kept as read with everything after it).
    """
    words = [w for w in line.split() if any(c.isascii() and c.isalnum() for c in fold(w)) or w in _DASHES]
    mended = int(len(words) != len(line.split()))  # a speck read as a mark ("ˆ") dropped
    glued = _unglue(words)
    mended += len(glued) - len(words)
    words = glued
    out: list[str] = []
    i = 0
    while i < len(words):
        hit = _match(words, i, _FOLDED)
        if hit is None:
            unit = _match(words, i, _FOLDED_UNITS)
            if unit is not None and i + unit[1] < len(words):
                spelt, n, changed = unit
                out.append(spelt)
                mended += changed
                i += n
            out.extend(words[i:])
            break
        spelt, n, changed = hit
        out.append(spelt)
        mended += changed
        i += n
    return " ".join(out), mended


def space_place(place: str, dated: str) -> str:
    """*place* (a body name's, as read) with spaces where *dated* (the place-and-date line's) has them.

    A place's words read as one ("KIMSƠN") are spaced as the place-and-date line, printed
    in another font, spaces the same letters; *place* is returned as read otherwise.
    """
    if not place or " " in place or " " not in dated or fold(place) != fold(dated).replace(" ", ""):
        return place
    cut = {i - k for k, i in enumerate(i for i, c in enumerate(dated) if c == " ")}
    return "".join(c + (" " if i + 1 in cut else "") for i, c in enumerate(place))
