"""The baselines, on exactly the page images the station received.

- ``tesseract``: plain ``tesseract PAGE stdout -l vie --dpi D`` (page segmentation
  mode 3, the default) on each content page as the copier stored it (JPEG files
  as they are; PDF and TIFF pages extracted losslessly), two pages at a time;
- ``ocrmypdf``: ``ocrmypdf -l vie --jobs 2`` with default settings on each scan
  job (a PDF as written; a TIFF or a job's JPEG pages wrapped losslessly into a
  PDF by img2pdf first, not timed), text per page from ``pdftotext -raw``;
- ``ocrmypdf_rd``: the same with ``--rotate-pages --deskew``, on the scan jobs of every fourth record file
  (a full second pass would add a quarter of an hour on two cores).
Every process runs with ``OMP_THREAD_LIMIT=1``, like the station's tesseract.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

ENV = dict(os.environ, OMP_THREAD_LIMIT="1")


def _group(name: str) -> str:
    """Scan job of a stack file: a PDF or TIFF is one job; JPEG pages of one job share the name before _NNN."""
    return name.rsplit("_", 1)[0] if name.endswith(".jpg") else name


def page_file(stacks: Path, page: dict, tmp: Path) -> Path:
    """The page image as the station received it, as a file tesseract reads."""
    src = stacks / page["file"]
    if src.suffix == ".jpg":
        return src
    out = tmp / f"{page['id']}.png"
    if src.suffix == ".tif":
        with Image.open(src) as im:
            im.seek(page["index_in_file"] - 1)
            im.save(out, dpi=(page["degradation"]["dpi"],) * 2)
        return out
    i = str(page["index_in_file"])
    subprocess.run(["pdfimages", "-png", "-f", i, "-l", i, str(src), str(tmp / page["id"])], check=True,
                   capture_output=True)
    made = sorted(tmp.glob(f"{page['id']}-*.png"))
    made[0].rename(out)
    return out


def tesseract(stacks: Path, truth: dict, *, workers: int = 2, log=print) -> tuple[dict, float]:
    """Text of every content page, and the wall time (s)."""
    pages = [p for p in truth["pages"] if p["role"] == "content"]
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="eval-tess-") as tmpd:
        tmp = Path(tmpd)

        def one(p):
            img = page_file(stacks, p, tmp)
            proc = subprocess.run(["tesseract", str(img), "stdout", "-l", "vie", "--dpi",
                                   str(p["degradation"]["dpi"])], capture_output=True, env=ENV)
            if img.parent == tmp:
                img.unlink(missing_ok=True)
            return p["id"], proc.stdout.decode("utf-8", "replace")

        t0 = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            for n, (pid, text) in enumerate(pool.map(one, pages), 1):
                texts[pid] = text
                if n % 50 == 0:
                    log(f"tesseract: {n}/{len(pages)} pages")
        seconds = time.monotonic() - t0
    return texts, seconds


def _job_pdfs(stacks: Path, truth: dict, tmp: Path, files: set) -> dict[str, tuple[Path, list]]:
    """Input PDF of every scan job among *files*, with its pages (ground-truth ids) in order."""
    import img2pdf

    jobs: dict[str, list] = {}
    for p in truth["pages"]:
        if p["file"] not in files:
            continue
        jobs.setdefault(_group(p["file"]), []).append(p)
    out = {}
    for name, ps in sorted(jobs.items()):
        ps.sort(key=lambda p: (p["file"], p["index_in_file"]))
        if name.endswith(".pdf"):
            out[name] = (stacks / name, [p["id"] for p in ps])
            continue
        pdf = tmp / f"{name}.in.pdf"
        if name.endswith(".tif"):
            pdf.write_bytes(img2pdf.convert(str(stacks / name)))
        else:
            pdf.write_bytes(img2pdf.convert([str(stacks / p["file"]) for p in ps]))
        out[name] = (pdf, [p["id"] for p in ps])
    return out


def ocrmypdf(stacks: Path, truth: dict, *, extra: tuple = (), every: int = 1,
             log=print) -> tuple[dict, float, list]:
    """Text of every page (all roles), the summed wall time of the runs (s), and the jobs that failed.

    *every* > 1 runs only the scan jobs of every *every*-th record file (the first, then every n-th).
    """
    texts: dict[str, str] = {}
    failed = []
    seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="eval-ocrmypdf-") as tmpd:
        tmp = Path(tmpd)
        keep = {p["file"] for p in truth["pages"] if p["record_file"] % every == 0}
        jobs = {k: v for k, v in _job_pdfs(stacks, truth, tmp, keep).items()}
        for n, (name, (src, ids)) in enumerate(jobs.items(), 1):
            dst = tmp / f"{name}.out.pdf"
            cmd = [sys.executable, "-m", "ocrmypdf", "-q", "-l", "vie", "--jobs", "2", *extra, str(src), str(dst)]
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, env=ENV)
            seconds += time.monotonic() - t0
            if proc.returncode not in (0, 10) or not dst.exists():  # 10: output is not valid PDF/A, text still there
                failed.append({"job": name, "code": proc.returncode,
                               "error": proc.stderr.decode("utf-8", "replace").strip()[-300:]})
                continue
            for i, pid in enumerate(ids, 1):
                # -raw: the text layer in the order it was written (tesseract's), as for the station's PDFs;
                # the default layout mode tears slanted lines of a page that was not deskewed into pieces
                r = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-f", str(i), "-l", str(i), str(dst), "-"],
                                   capture_output=True)
                texts[pid] = r.stdout.decode("utf-8", "replace")
            dst.unlink(missing_ok=True)
            if n % 10 == 0:
                log(f"ocrmypdf{' ' + ' '.join(extra) if extra else ''}: {n}/{len(jobs)} scan jobs")
    return texts, seconds, failed


def versions() -> dict:
    out = {}
    try:
        out["tesseract"] = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout \
            .splitlines()[0]
    except (OSError, IndexError):
        out["tesseract"] = "?"
    try:
        out["ocrmypdf"] = subprocess.run([sys.executable, "-m", "ocrmypdf", "--version"], capture_output=True,
                                         text=True).stdout.strip()
    except OSError:
        out["ocrmypdf"] = "?"
    return out
