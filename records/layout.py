"""Where each field sits on a first page: the Nghị định 30/2020 layout found from word boxes (design §6.3 L1-L8).

Tesseract gives words with boxes and its own line numbers. Its lines are cut
where words lie far apart (the two header columns often come out as one line);
each piece is a :class:`Segment`. The national motto anchors the header: the
issuing body and the number sit left of it, the place and date under it, the
type name and the trích yếu centred below. Forms (civil status, land) have no
number column but the same motto and a centred title; their fields are labelled.
Nothing here decides a field's value: :mod:`records.metadata` does, from the
places found here.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from records.ocr import OcrResult, Word
from records.text import fold, fuzzy_score

NATION = "CONG HOA XA HOI CHU NGHIA VIET NAM"
MOTTO = "DOC LAP - TU DO - HANH PHUC"
GAP_FACTOR = 2.5        # L1: a gap wider than this many line heights cuts a line
BLOCK_GAP = 1.8         # L6/L7: lines further apart than this many line heights are not one block
# "Số" folded, as OCR returns it: SO, S0, S6, or 5O followed by its colon
# followed by a colon or a space, then a digit ("SƠN", a place name's end, is not one); with
# its colon, any one letter for the "ố" ("Sẽ:", "Sể:"), which no other header line starts with
_NUMBER_START = re.compile(r"^(?:S[O06]?\s*[:;.,]|S[A-Z]\s*[:;]|S[O06]\s|5[O0]?\s*[:;])\s*[\dOIZ|]")
# A speck before the label, read as a word of one mark ("- Số: 401/…", "l Số: 474/…")
_SPECK_WORD = re.compile(r"^(?:[^\w\s]|[lI|1])$")
_SECRET = ("MAT", "TOI MAT", "TUYET MAT")
_LABEL = re.compile(r"\w\s*:")   # a label and its colon: no body's name has one


@dataclass(frozen=True)
class Segment:
    """A run of words on one printed line, with its box and tesseract's confidences (0..100)."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def x0(self) -> int:
        return min(w.left for w in self.words)

    @property
    def x1(self) -> int:
        return max(w.left + w.width for w in self.words)

    @property
    def y0(self) -> int:
        return min(w.top for w in self.words)

    @property
    def y1(self) -> int:
        return max(w.top + w.height for w in self.words)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return float(statistics.median(w.height for w in self.words))

    @property
    def conf(self) -> float:
        return sum(max(0.0, w.conf) for w in self.words) / len(self.words)

    @property
    def min_conf(self) -> float:
        return min(max(0.0, w.conf) for w in self.words)

    @property
    def upper(self) -> float:
        """Share of upper-case letters."""
        letters = [c for c in self.text if c.isalpha()]
        return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0

    @property
    def box(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


def box_of(segments: list[Segment]) -> list[int]:
    """The box around *segments* (an empty list gives [])."""
    if not segments:
        return []
    return [min(s.x0 for s in segments), min(s.y0 for s in segments), max(s.x1 for s in segments),
            max(s.y1 for s in segments)]


def segments(ocr: OcrResult) -> list[Segment]:
    """L1: tesseract's lines cut at wide gaps, top to bottom."""
    lines: dict[int, list[Word]] = {}
    for w in ocr.words:
        if w.text.strip():
            lines.setdefault(w.line, []).append(w)
    out: list[Segment] = []
    for words in lines.values():
        # by the box's centre, not its left edge: a word whose box took in an underline that
        # starts before it ("xã đạt chuẩn" over a rule from "xã" on) keeps its place
        words.sort(key=lambda w: 2 * w.left + w.width)
        h = statistics.median(w.height for w in words)
        cur = [words[0]]
        for prev, w in zip(words, words[1:]):
            if w.left - (prev.left + prev.width) > GAP_FACTOR * max(h, 1):
                out.append(Segment(tuple(cur)))
                cur = []
            cur.append(w)
        out.append(Segment(tuple(cur)))
    out = [piece for s in out for piece in _split_at_nation(s, ocr.height)]
    out.sort(key=lambda s: (s.y0, s.x0))
    return out


def _split_at_nation(s: Segment, page_height: int) -> list[Segment]:
    """L1: a header line whose columns lie closer than the gap rule, cut where the motto starts.

    "ỦY BAN NHÂN DÂN XÃ PHƯỚC  CỘNG HÒA XÃ HỘI …" is two segments, only in the top
    third of the page (the words "cộng hòa" in the body cut nothing).
    """
    if s.y0 > page_height / 3 or len(s.words) < 3:
        return [s]
    folded = [re.sub(r"[^A-Z]", "", fold(w.text)) for w in s.words]
    for i in range(1, len(folded) - 1):
        if folded[i] == "CONG" and folded[i + 1].startswith("HO") and fuzzy_score(
                NATION, " ".join(folded[i:i + 8])) >= 0.8:
            return [Segment(s.words[:i]), Segment(s.words[i:])]
    return [s]


@dataclass
class PageLayout:
    """The places of a first page (design §6.3 L2-L8); every list is top to bottom."""

    width: int
    height: int
    dpi: int
    segments: list[Segment]
    nation: Segment | None = None        # "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    motto: Segment | None = None         # "Độc lập - Tự do - Hạnh phúc"
    left_edge: float = 0.0               # the left column ends here (x); 0 = no left column
    number: Segment | None = None        # ô 3
    organ: list[Segment] = field(default_factory=list)   # ô 2
    secret: Segment | None = None        # ô 10a
    header_bottom: int = 0               # y below the header (motto, number, date line)

    @property
    def mm(self) -> float:
        return self.dpi / 25.4 if self.dpi else 8.0

    def in_left(self, s: Segment) -> bool:
        return self.left_edge > 0 and s.x1 <= self.left_edge + 2 * self.mm

    def centred(self, s: Segment, tolerance: float = 0.15) -> bool:
        """Centred on the page, or on the motto's column (a landscape land certificate's right half)."""
        centres = [self.width / 2]
        if self.nation is not None and self.width > self.height:
            centres.append(self.nation.cx)
        return any(abs(s.cx - c) <= tolerance * self.width for c in centres)


def _header_line(s: Segment, pattern: str, minimum: float = 0.75) -> float:
    f = s.folded
    if len(f) < 0.5 * len(pattern):
        return 0.0
    score = fuzzy_score(pattern, f)
    return score if score >= minimum else 0.0


def analyse(ocr: OcrResult) -> PageLayout:
    """Find the header places of a first page (L2-L4, L8)."""
    segs = segments(ocr)
    lay = PageLayout(ocr.width, ocr.height, ocr.dpi, segs)
    top = [s for s in segs if s.y0 < 0.45 * ocr.height]
    best = max(top, key=lambda s: _header_line(s, NATION), default=None)
    if best is not None and _header_line(best, NATION):
        lay.nation = best
    below = [s for s in top if lay.nation is None or s.y0 >= lay.nation.y0]
    best2 = max(below, key=lambda s: _header_line(s, MOTTO, 0.7), default=None)
    if best2 is not None and _header_line(best2, MOTTO, 0.7):
        lay.motto = best2
        if lay.nation is None:
            lay.nation = best2
    anchor = lay.nation
    if anchor is not None and anchor.x0 > 0.3 * ocr.width:
        lay.left_edge = anchor.x0 - 3 * lay.mm
    lay.header_bottom = (lay.motto or lay.nation).y1 if anchor is not None else 0
    # L3: "Số: …" at the start of a left-column segment, in the top part of the page
    for s in segs:
        if s.y0 > 0.4 * ocr.height:
            break
        if lay.left_edge and not lay.in_left(s):
            continue
        if not lay.left_edge and s.cx > 0.5 * ocr.width:
            continue
        if len(s.words) > 1 and _SPECK_WORD.match(s.words[0].text):
            rest = Segment(s.words[1:])
            if _NUMBER_START.match(rest.folded):
                s = rest  # the speck is not part of the line
        if _NUMBER_START.match(s.folded):
            lay.number = s
            lay.header_bottom = max(lay.header_bottom, s.y1)
            break
    # L4: the issuing body: upper-case left-column lines above the number (or above the motto's line)
    if lay.left_edge:
        limit = lay.number.y0 if lay.number is not None else (lay.motto or lay.nation).y1 + 6 * lay.mm
        for s in segs:
            if s.y1 > limit + 0.5 * s.height or s.y0 > 0.35 * ocr.height:
                break
            if not lay.in_left(s) or len(re.sub(r"[^A-Z]", "", s.folded)) < 2 or s.upper < 0.7:
                continue
            if _LABEL.search(s.text):
                continue  # a form's labelled field ("Ông: TRẦN VĂN AN" on a land certificate), never a body
            lay.organ.append(s)
    # L8: a secrecy stamp alone on its line in the top third
    for s in segs:
        if s.y0 > ocr.height / 3:
            break
        if is_secrecy_stamp(s):
            lay.secret = s
            break
    return lay


def is_secrecy_stamp(s: Segment) -> bool:
    """Whether *s* reads as a secrecy stamp: MẬT, TỐI MẬT or TUYỆT MẬT, printed in capitals.

    Folded, MẬT is three letters, and one edit from it are common words (ĐẤT, MẶT,
    MAI): a land certificate's "đất" wrapped onto its own line raised a public record
    file to secret. So the one-word stamp must fold to MAT exactly; the longer ones
    may differ by one letter. The stamp is printed in capitals, a wrapped word is not.
    """
    f = re.sub(r"[^A-Z ]", "", s.folded).strip()
    if not 0 < len(f) <= 10 or s.upper < 0.7:
        return False
    if f == "MAT":
        return True
    return any(fuzzy_score(x, f) >= 1 - 1 / len(x) and abs(len(f) - len(x)) <= 1 for x in _SECRET[1:])


def conf_of(segs: list) -> tuple[float, float]:
    """(mean, minimum) tesseract confidence of the words of *segs*, 0..1."""
    words = [w for s in segs for w in s.words]
    if not words:
        return 0.0, 0.0
    confs = [max(0.0, w.conf) / 100 for w in words]
    return sum(confs) / len(confs), min(confs)


def line_under(lay: PageLayout, s: Segment) -> Segment | None:
    """The segment printed right under *s* (within BLOCK_GAP line heights, overlapping it across)."""
    for t in lay.segments:
        if t.y0 <= s.y0 + 0.5 * s.height or t.x1 < s.x0 or t.x0 > s.x1:
            continue
        return t if t.y0 - s.y1 <= BLOCK_GAP * s.height else None
    return None
