"""OCR with the tesseract CLI: one low-priority process per page, word boxes kept.

Tesseract runs as a child process (``OMP_THREAD_LIMIT=1``, ``nice`` +10) so a
page's OCR can never block or crash the agent, and two pages run side by side
on a two-core appliance. Results keep every word with its box and confidence
(TSV output), which the PDF text layer and the classifier both use.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class OcrError(RuntimeError):
    """Tesseract failed or is missing; the message says which."""


@dataclass(frozen=True)
class Word:
    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float
    line: int  # running line number on the page (block/par/line flattened)


@dataclass
class OcrResult:
    """Words of one page in reading order, the page size in pixels and the dpi."""

    words: list[Word]
    width: int
    height: int
    dpi: int
    max_rss_kb: int = 0
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)
    # second reads of single header lines, by place ("number", "date"), in page coordinates (records/reread.py)
    reread: dict[str, list[Word]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def to_json(self) -> dict:
        out = {"width": self.width, "height": self.height, "dpi": self.dpi, "words": _words_json(self.words)}
        if self.reread:
            out["reread"] = {k: _words_json(v) for k, v in self.reread.items()}
        return out

    @classmethod
    def from_json(cls, data: dict) -> "OcrResult":
        words = _words_of(data["words"])
        reread = {k: _words_of(v) for k, v in (data.get("reread") or {}).items()}
        return cls(words, data["width"], data["height"], data["dpi"], lines=_lines(words), reread=reread)


def _words_json(words: list[Word]) -> list[list]:
    return [[w.text, w.left, w.top, w.width, w.height, round(w.conf, 1), w.line] for w in words]


def _words_of(rows: list[list]) -> list[Word]:
    return [Word(t, l, tp, wd, ht, c, ln) for t, l, tp, wd, ht, c, ln in rows]


def _lines(words: list[Word]) -> list[str]:
    out: list[str] = []
    cur, cur_line = [], None
    for w in words:
        if cur_line is not None and w.line != cur_line:
            out.append(" ".join(cur))
            cur = []
        cur.append(w.text)
        cur_line = w.line
    if cur:
        out.append(" ".join(cur))
    return out


def _tsv_words(tsv: str):
    """Tesseract's TSV rows that matter, in order: ``("size", (width, height), None)`` for each page and
    ``("word", (page, block, par, line), (text, left, top, width, height, conf))`` for each word."""
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        try:
            level = int(row["level"])
        except (KeyError, TypeError, ValueError):
            continue
        if level == 1:
            yield "size", (int(row["width"]), int(row["height"])), None
            continue
        if level != 5:
            continue
        text = (row.get("text") or "").strip()
        if not text:
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        yield "word", key, (text, int(row["left"]), int(row["top"]), int(row["width"]), int(row["height"]),
                            float(row["conf"]))


def parse_tsv(tsv: str, dpi: int) -> OcrResult:
    """Parse tesseract's TSV output into an :class:`OcrResult`."""
    words: list[Word] = []
    width = height = 0
    line_ids: dict[tuple, int] = {}
    for kind, key, word in _tsv_words(tsv):
        if kind == "size":
            width, height = key
            continue
        words.append(Word(*word, line_ids.setdefault(key, len(line_ids))))
    return OcrResult(words, width, height, dpi, lines=_lines(words))


def read_lines(images: list[Path], *, dpi: int, languages: str = "vie", niceness: int = 10,
               timeout: float = 60.0) -> list[list[Word]]:
    """Read each image as one text line (``--psm 7``), all in one tesseract process.

    One process loads the language model once for every line (a line costs about 0.13 s
    alone, most of it the load). Returns each image's words, in its own coordinates.

    Raises
    ------
    OcrError
        As :func:`run_tesseract`.
    """
    listing = images[0].parent / "lines.txt"
    listing.write_text("".join(f"{p}\n" for p in images), encoding="utf-8")
    tsv, _peak, _seconds = _tesseract(listing, dpi=dpi, languages=languages, psm=7, niceness=niceness,
                                      timeout=timeout)
    out: list[list[Word]] = [[] for _ in images]
    for kind, key, word in _tsv_words(tsv):
        page = int(key[0]) - 1 if kind == "word" else -1
        if 0 <= page < len(images):
            out[page].append(Word(*word, -1))
    return out


def _sample_hwm(pid: int, peak: list, done: threading.Event) -> None:
    """Follow the child's VmHWM (peak resident set of tesseract itself, after exec).

    ru_maxrss from wait4 would also count the agent's own pages at fork/exec time.
    """
    path = f"/proc/{pid}/status"
    while True:
        try:
            with open(path, encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
                        break
        except (OSError, ValueError):
            return
        if done.wait(0.02):
            return


def run_tesseract(image: Path, *, dpi: int, languages: str = "vie", psm: int = 3,
                  niceness: int = 10, timeout: float = 300.0) -> OcrResult:
    """OCR one image file with the tesseract CLI (blocking).

    Raises
    ------
    OcrError
        If tesseract is missing, fails or runs past *timeout* seconds.
    """
    tsv, peak, seconds = _tesseract(image, dpi=dpi, languages=languages, psm=psm, niceness=niceness,
                                    timeout=timeout)
    result = parse_tsv(tsv, dpi)
    result.max_rss_kb = peak
    result.seconds = seconds
    return result


def _tesseract(image: Path, *, dpi: int, languages: str, psm: int, niceness: int,
               timeout: float) -> tuple[str, int, float]:
    """(TSV text, peak resident kB, seconds) of one tesseract run on *image* (an image or a list of them)."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    # `nice` (coreutils) instead of a preexec_fn lets subprocess spawn without
    # forking the whole agent for every page.
    cmd = ["nice", "-n", str(niceness), "tesseract", str(image), "stdout", "-l", languages,
           "--psm", str(psm), "--dpi", str(dpi), "tsv"]
    if shutil.which("tesseract") is None:
        raise OcrError("tesseract not installed (Debian: tesseract-ocr tesseract-ocr-vie)")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err_chunks: list[bytes] = []
    peak = [0]
    done = threading.Event()
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    sampler = threading.Thread(target=_sample_hwm, args=(proc.pid, peak, done), daemon=True)
    reader.start()
    sampler.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        out = proc.stdout.read()
        _pid, status, _usage = os.wait4(proc.pid, 0)
    finally:
        done.set()
        killer.cancel()
        reader.join(5)
        sampler.join(5)
        proc.stdout.close()
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        if proc.returncode < 0:
            raise OcrError(f"tesseract stopped (signal {-proc.returncode}, timeout {timeout:.0f} s?) on {image.name}")
        err = b"".join(err_chunks).decode(errors="replace").strip()[:300]
        raise OcrError(f"tesseract failed on {image.name}: {err}")
    return out.decode("utf-8", errors="replace"), peak[0], time.perf_counter() - t0


class OcrQueue:
    """Runs page OCR in the background, at most *workers* tesseract processes at once."""

    def __init__(self, workers: int = 2, languages: str = "vie", niceness: int = 10, psm: int = 3,
                 reread: bool = True):
        self._sem = asyncio.Semaphore(max(1, workers))
        self.languages = languages
        self.niceness = niceness
        self.psm = psm
        self.reread = reread
        self.busy = 0

    async def ocr(self, image: Path, dpi: int, second: Path | None = None) -> OcrResult:
        """Read *image*; *second* is the same page's colour or gray image, for the date's second read."""
        async with self._sem:
            self.busy += 1
            try:
                return await asyncio.to_thread(self._ocr, image, dpi, second)
            finally:
                self.busy -= 1

    def _ocr(self, image: Path, dpi: int, second: Path | None) -> OcrResult:
        result = run_tesseract(image, dpi=dpi, languages=self.languages, psm=self.psm, niceness=self.niceness)
        if self.reread:
            # it reads the layout, which builds on this module
            from records.reread import reread_header

            reread_header(image, result, second=second, languages=self.languages, niceness=self.niceness)
        return result


def bitonal_copy(src: Path, dst: Path, dpi: int | None = None) -> Path:
    """Otsu-binarized PNG of *src* for OCR, when the imaging stage made none.

    Tesseract reads a bitonal page several times faster than a colour JPEG and
    loses nothing on printed text. Red seal and stamp ink of a colour page is
    left out, as for the imaging stage's bitonal page (``records.seal_ink``); so,
    when *dpi* is given (it sets a seal's size), are the seals of a grey page, or
    of a colour page without red ink.
    """
    import cv2

    from records.seal_ink import clear_seal_ink

    page = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    if page is None:
        raise OcrError(f"cannot read {src.name} for OCR")
    colour = page if page.ndim == 3 and page.shape[2] == 3 and page.dtype == np.uint8 else None
    if colour is not None:
        gray = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    elif page.ndim == 2 and page.dtype == np.uint8:
        gray = page  # already what Otsu needs: no second read of the file
    else:  # 16-bit, alpha: let OpenCV convert
        gray = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)
    _t, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bw, _cleared = clear_seal_ink(bw, colour if colour is not None else gray, dpi)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(dst), bw, [cv2.IMWRITE_PNG_BILEVEL, 1]):
        raise OcrError(f"cannot write {dst}")
    return dst
