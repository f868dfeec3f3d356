"""The evaluation corpus: record files of degraded document scans, as a copier writes them, with ground truth.

``build(seed, n_docs, dest)`` writes ``dest/stacks/*`` (the files dropped into the
station's hot folder, in name order) and ``dest/truth.json``. Everything is drawn
from ``random.Random(seed)`` in a fixed order, so the same seed and size give the
same files byte for byte (the cover sheets come from ``sohoa coversheet``, which
is deterministic too).

Ground-truth rules (docs/design.md §6.2, separator mode ``coversheet``):
- a record file starts at its cover sheet; a PATCHT sheet lies between two
  documents of the same record file, and nowhere else: a record file of one
  document has none. The ground truth never asks the station to split documents
  by their content, since only a PATCHT sheet starts a new document there (S5);
- blank pages (the back of a sheet, a sheet left in the stack) belong to no
  document, wherever they lie (S5: blank pages never enter a document);
- a document's fields are those printed on its first page (and, for forms and
  land certificates, the date and body printed at the bottom of that page).
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from eval import documents, vocab
from eval.degrade import Degradation, scan_sheet
from eval.render import pick_style, render_page

# Part of the cache folder's name: bump it with any change that alters the corpus's bytes or ground
# truth, or an old cache would be scored against the new generator's expectations.
GENERATOR_VERSION = 1
AGENCY = "H49.64.33"

RECORD_TITLES = {
    "civil": ("Hồ sơ đăng ký hộ tịch xã {X} năm {y}", "Hồ sơ đăng ký khai sinh, khai tử năm {y}",
              "Hồ sơ cấp trích lục hộ tịch quý {q} năm {y}"),
    "land": ("Hồ sơ cấp giấy chứng nhận quyền sử dụng đất xã {X} năm {y}",
             "Hồ sơ chuyển nhượng quyền sử dụng đất năm {y}", "Hồ sơ giải quyết tranh chấp đất đai năm {y}"),
    "admin": ("Hồ sơ văn bản đi của Ủy ban nhân dân xã {X} năm {y}", "Tập lưu văn bản quý {q} năm {y}",
              "Hồ sơ hội nghị, cuộc họp của xã năm {y}", "Hồ sơ công tác văn thư, lưu trữ năm {y}"),
}
THEME_KINDS = {
    "civil": ("trich_luc_khai_sinh", "giay_khai_sinh", "trich_luc_khai_tu", "gcn_ket_hon", "xac_nhan_hon_nhan",
              "to_khai_khai_tu", "don_de_nghi", "quyet_dinh", "cong_van"),
    "land": ("gcn_qsdd", "hop_dong", "don_de_nghi", "quyet_dinh", "bien_ban", "thong_bao", "cong_van", "to_trinh"),
    "admin": ("quyet_dinh", "cong_van", "to_trinh", "bien_ban", "thong_bao", "ke_hoach", "bao_cao", "nghi_quyet",
              "giay_moi", "cong_dien", "chi_thi"),
}


# ----------------------------------------------------------------------------------- the plan

def plan(seed: int, n_docs: int) -> dict:
    """Decide every record file, document, page and degradation (no pixels yet)."""
    rng = random.Random(seed)
    n_files = max(2, math.ceil(n_docs / 4.6))
    sizes = _split_sizes(rng, n_docs, n_files)
    files, docs, pages = [], [], []
    kinds_seen: list[str] = []
    for fi, size in enumerate(sizes):
        theme = rng.choice(("civil", "land", "admin", "admin"))
        commune, district, province = rng.choice(vocab.COMMUNES), rng.choice(vocab.DISTRICTS), \
            rng.choice(vocab.PROVINCES)
        year = rng.randint(2019, 2025)
        mode = "03" if rng.random() < 0.1 else ("02" if rng.random() < 0.17 else "01")
        fcode = f"{AGENCY}.{year}.{100 + fi}"
        title = rng.choice(RECORD_TITLES[theme]).format(X=commune, y=year, q=rng.choice(("I", "II", "III", "IV")))
        rf = {"index": fi, "file_code": fcode, "paper_file_code": f"H49.1.{rng.randint(1, 9)}.{rng.randint(10, 400)}",
              "title": title, "maintenance": rng.choice(("01", "01", "02", "05", "06")), "mode": mode,
              "note": f"Lô {rng.randint(1, 12)}, kệ {rng.choice('ABCDE')}", "theme": theme, "documents": [],
              "pages": [], "commune": commune, "district": district, "province": province, "year": year}
        # the copier that scanned this record file
        prof = {"dpi": 300 if rng.random() < 0.6 else 200,
                "colour": rng.choices(("rgb", "rgb_equal", "gray"), (0.45, 0.2, 0.35))[0],
                "container": rng.choices(("pdf", "tiff", "jpeg"), (0.4, 0.3, 0.3))[0],
                "border": rng.choices(("dark", "light", "none"), (0.3, 0.6, 0.1))[0],
                "jpeg": rng.randint(60, 85), "split_job": rng.random() < 0.15}
        rf["scanner"] = prof
        stack: list[dict] = []
        stack.append(_page(rng, pages, rf, "cover", prof, separator=True))
        if rng.random() < 0.1:
            stack.append(_page(rng, pages, rf, "blank", prof))
        for di in range(size):
            kind_key = _pick_kind(rng, theme, kinds_seen, n_docs)
            kinds_seen.append(kind_key)
            kind = documents.KIND_BY_KEY[kind_key]
            doc_seed = rng.getrandbits(32)
            drng = random.Random(doc_seed)
            doc = documents.make_document(drng, kind, commune=commune, district=district, province=province,
                                          year=year, handwriting=kind.layout in ("form", "petition", "land")
                                          and rng.random() < 0.35)
            did = f"d{len(docs) + 1:04d}"
            dinfo = {"id": did, "record_file": fi, "seq": di + 1, "seed": doc_seed, **doc.fields, "page_ids": []}
            docs.append(dinfo)
            rf["documents"].append(did)
            if di:
                stack.append(_page(rng, pages, rf, "patch", prof, separator=True))
                if rng.random() < 0.05:
                    stack.append(_page(rng, pages, rf, "blank", prof))
            doc_effects = {"photocopy": rng.random() < 0.18, "holes": rng.random() < 0.12,
                           "staple": rng.random() < 0.12, "yellowed": rng.uniform(0.4, 1.0) if rng.random() < 0.25
                           else 0.0, "fax": rng.random() < 0.03}
            for pi in range(doc.fields["pages"]):
                p = _page(rng, pages, rf, "content", prof, doc=dinfo, page_in_doc=pi, landscape=kind.landscape,
                          doc_effects=doc_effects)
                dinfo["page_ids"].append(p["id"])
                stack.append(p)
                if rng.random() < 0.06:
                    stack.append(_page(rng, pages, rf, "blank", prof, back_of=p["id"]))
        rf["pages"] = [p["id"] for p in stack]
        files.append(rf)
    _assign_stack_files(rng, files, pages)
    return {"generator_version": GENERATOR_VERSION, "seed": seed, "n_docs": n_docs, "agency": AGENCY,
            "record_files": files, "documents": docs, "pages": pages}


def _split_sizes(rng: random.Random, n_docs: int, n_files: int) -> list[int]:
    sizes = [1] * n_files
    for _ in range(n_docs - n_files):
        sizes[rng.randrange(n_files)] += 1
    # some record files of a single document (no PATCHT at all)
    for i in range(n_files):
        if sizes[i] > 2 and rng.random() < 0.12:
            j = rng.randrange(n_files)
            sizes[j] += sizes[i] - 1
            sizes[i] = 1
    return sizes


def _pick_kind(rng: random.Random, theme: str, seen: list[str], n_docs: int) -> str:
    # every kind appears at least once when the corpus is big enough for it
    missing = [k.key for k in documents.KINDS if k.key not in seen]
    if missing and n_docs >= len(documents.KINDS) and rng.random() < 0.5:
        return missing[0]
    pool = THEME_KINDS[theme]
    return rng.choices(pool, [documents.KIND_WEIGHTS[k] for k in pool])[0]


def _page(rng: random.Random, pages: list, rf: dict, role: str, prof: dict, *, separator: bool = False,
          doc: dict | None = None, page_in_doc: int = 0, landscape: bool = False, doc_effects: dict | None = None,
          back_of: str | None = None) -> dict:
    pid = f"p{len(pages) + 1:05d}"
    deg = Degradation(dpi=prof["dpi"], colour=prof["colour"], border=prof["border"])
    margins = tuple(rng.uniform(1.0, 9.0) for _ in range(4)) if prof["border"] != "none" else \
        tuple(rng.uniform(0.0, 1.5) for _ in range(4))
    deg = replace(deg, margins_mm=margins, offset_mm=(rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)))
    if separator:
        # printed sheets reused from scan to scan, copied, faxed: degraded harder
        deg = replace(deg, skew_deg=rng.uniform(-5, 5), blur=rng.uniform(0.6, 1.8) if rng.random() < 0.6 else 0.0,
                      jpeg=40, fax=rng.random() < 0.35, noise=rng.uniform(3, 12),
                      falloff=rng.uniform(0.1, 0.33) if rng.random() < 0.4 else 0.0,
                      falloff_angle=rng.uniform(0, 360), photocopy=rng.random() < 0.25,
                      orientation=180 if rng.random() < 0.05 else 0, dust=rng.randint(0, 40))
    elif role == "blank":
        deg = replace(deg, skew_deg=rng.uniform(-3, 3), bleed=rng.uniform(0.4, 1.0) if rng.random() < 0.5 else 0.0,
                      yellowed=rng.uniform(0.3, 1.0) if rng.random() < 0.4 else 0.0, dust=rng.randint(5, 120),
                      border="dark" if rng.random() < 0.5 else deg.border, noise=rng.uniform(2, 10),
                      jpeg=prof["jpeg"], falloff=rng.uniform(0.1, 0.33) if rng.random() < 0.3 else 0.0,
                      falloff_angle=rng.uniform(0, 360), photocopy=rng.random() < 0.15)
    else:
        e = doc_effects or {}
        orientation = 0
        if landscape:
            orientation = rng.choice((90, 270)) if rng.random() < 0.6 else 0
        elif rng.random() < 0.05:
            orientation = 180
        deg = replace(deg, skew_deg=rng.uniform(-3, 3), orientation=orientation,
                      jpeg=prof["jpeg"] if rng.random() < 0.85 else rng.randint(40, 60),
                      noise=rng.uniform(3, 12) if rng.random() < 0.5 else rng.uniform(0, 3),
                      blur=rng.uniform(0.6, 1.5) if rng.random() < 0.2 else 0.0,
                      falloff=rng.uniform(0.1, 0.33) if rng.random() < 0.35 else 0.0,
                      falloff_angle=rng.uniform(0, 360), yellowed=e.get("yellowed", 0.0),
                      bleed=rng.uniform(0.3, 1.0) if rng.random() < 0.15 else 0.0,
                      coffee=1 if rng.random() < 0.06 else 0, holes=e.get("holes", False),
                      staple=e.get("staple", False) and page_in_doc == 0, dust=rng.randint(0, 30),
                      stamp_over_text=rng.random() < 0.1, photocopy=e.get("photocopy", False),
                      fax=e.get("fax", False))
    if deg.fax:
        deg = replace(deg, colour="bitonal")
    elif deg.photocopy and deg.colour == "rgb":
        deg = replace(deg, colour="gray")
    if prof["container"] != "jpeg" and deg.fax:
        deg = replace(deg, jpeg=0)
    if prof["container"] == "jpeg" and not deg.jpeg:
        deg = replace(deg, jpeg=90)
    p = {"id": pid, "role": role, "record_file": rf["index"], "document": doc["id"] if doc else None,
         "page_in_doc": page_in_doc + 1 if doc else 0, "landscape": landscape, "seed": rng.getrandbits(32),
         "degradation": deg.to_dict(), "back_of": back_of}
    pages.append(p)
    return p


def _assign_stack_files(rng: random.Random, files: list, pages: list) -> None:
    """Which hot-folder file (and page within it) each page travels in; names sort in feed order."""
    by_id = {p["id"]: p for p in pages}
    for rf in files:
        prof = rf["scanner"]
        ids = rf["pages"]
        cut = len(ids)
        if prof["split_job"] and len(ids) >= 6:
            cut = rng.randint(3, len(ids) - 2)
        jobs = [ids[:cut], ids[cut:]] if cut < len(ids) else [ids]
        for j, job in enumerate(jobs):
            stem = f"scan_{rf['index'] + 1:03d}_{j + 1}"
            for k, pid in enumerate(job, 1):
                if prof["container"] == "jpeg":
                    by_id[pid]["file"] = f"{stem}_{k:03d}.jpg"
                    by_id[pid]["index_in_file"] = 1
                else:
                    by_id[pid]["file"] = f"{stem}.{'pdf' if prof['container'] == 'pdf' else 'tif'}"
                    by_id[pid]["index_in_file"] = k


# ----------------------------------------------------------------------------------- pixels

def _cover_pdfs(truth: dict, work: Path, sohoa: list[str], reuse: bool = False) -> dict[int, Path]:
    """Print each record file's cover sheet (and its PATCHT sheets) with `sohoa coversheet`."""
    out = {}
    for rf in truth["record_files"]:
        pdf = work / f"cover_{rf['index']:03d}.pdf"
        out[rf["index"]] = pdf
        if reuse and pdf.exists():
            continue
        n_patch = max(0, len(rf["documents"]) - 1)
        cmd = sohoa + ["coversheet", "--file-code", rf["file_code"], "--paper-file-code", rf["paper_file_code"],
                       "--title", rf["title"], "--maintenance", rf["maintenance"], "--mode", rf["mode"],
                       "--note", rf["note"], "--patch", str(max(1, n_patch)), "--dpi", "300", "-o", str(pdf)]
        tmp = pdf.with_suffix(".part.pdf")
        cmd[-1] = str(tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"sohoa coversheet failed: {proc.stderr.strip()[:300]}")
        os.replace(tmp, pdf)
    return out


def _raster(pdf: Path, page: int, dpi: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(page), "-l", str(page),
                        str(pdf), f"{tmp}/p"], check=True, capture_output=True)
        png = next(Path(tmp).glob("p*.png"))
        g = np.asarray(Image.open(png).convert("L"))
    return np.repeat(g[..., None], 3, axis=2)


def _ink_box(img: np.ndarray) -> tuple | None:
    g = img if img.ndim == 2 else img.min(axis=2)
    ink = g < 235
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not rows.size:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _doc_pages(doc: dict, rf: dict, dpi: int) -> list:
    """Clean sheets of a document, re-made from its seed exactly as the plan made it."""
    kind = documents.KIND_BY_KEY[doc["kind"]]
    made = documents.make_document(random.Random(doc["seed"]), kind, commune=rf["commune"], district=rf["district"],
                                   province=rf["province"], year=rf["year"], handwriting=doc["handwriting"])
    srng = random.Random(doc["seed"] ^ 0x5EED)
    style = pick_style(srng, kind.landscape)
    return [render_page(blocks, style, dpi, kind.landscape, srng) for blocks in made.pages]


def _record_file_pixels(args) -> dict:
    """Render, degrade and write every page of one record file; returns ground truth per page id."""
    rf, docs, pages, cover_pdf, dest = args
    dest = Path(dest)
    dpi = rf["scanner"]["dpi"]
    rendered: dict[str, object] = {}
    for doc in docs:
        for pid, rp in zip(doc["page_ids"], _doc_pages(doc, rf, dpi)):
            rendered[pid] = rp
    cover = _raster(Path(cover_pdf), 1, dpi)
    patch = _raster(Path(cover_pdf), 2, dpi)
    white = np.full_like(cover, 255)
    out: dict[str, dict] = {}
    stored: list[tuple[dict, object]] = []
    prev_sheet = None
    for p in pages:
        deg = Degradation(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in p["degradation"].items()
                             if k != "tags"})
        lines, hand = [], []
        if p["role"] == "content":
            rp = rendered[p["id"]]
            sheet, cbox = rp.image, rp.content_box
            lines = [ln.printed for ln in rp.lines if ln.printed.strip()]
            hand = [ln.text for ln in rp.lines if ln.hand]
        elif p["role"] == "cover":
            sheet, cbox = cover, _ink_box(cover)
        elif p["role"] == "patch":
            sheet, cbox = patch, _ink_box(patch)
        else:
            sheet, cbox = white, None
        back = prev_sheet if deg.bleed > 0 else None
        if p["role"] == "blank" and back is None and deg.bleed > 0:
            back = patch
        sc = scan_sheet(sheet, cbox, deg, p["seed"], back=back)
        if p["role"] == "content":
            prev_sheet = sheet
        h, w = sc.pixels.shape[:2]
        xs = [x for x, _ in sc.sheet_quad]
        ys = [y for _, y in sc.sheet_quad]
        out[p["id"]] = {"canvas": [w, h], "sheet_quad": sc.sheet_quad, "content_quad": sc.content_quad,
                        "sheet_box": [max(0, round(min(xs))), max(0, round(min(ys))), min(w, round(max(xs))),
                                      min(h, round(max(ys)))],
                        "text_lines": lines, "hand_lines": hand,
                        "channels": 3 if sc.pixels.ndim == 3 else 1}
        stored.append((p, sc))
    _write_stacks(stored, dest, dpi)
    return out


def _write_stacks(stored: list, dest: Path, dpi: int) -> None:
    groups: dict[str, list] = {}
    for p, sc in stored:
        groups.setdefault(p["file"], []).append((p, sc))
    for name, items in groups.items():
        path = dest / name
        tmp = path.with_name(path.name + ".part")
        if name.endswith(".jpg"):
            (_p, sc), = items
            tmp.write_bytes(sc.stored)
        elif name.endswith(".tif"):
            frames = [_pil(sc, p["degradation"]["colour"] == "bitonal") for p, sc in items]
            frames[0].save(tmp, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate",
                           dpi=(dpi, dpi))
        else:
            write_pdf(tmp, [sc for _p, sc in items], dpi)
        os.replace(tmp, path)


def _pil(sc, bitonal: bool) -> Image.Image:
    px = sc.pixels
    if bitonal and sc.stored is None:
        return Image.fromarray(px, "L").convert("1", dither=Image.Dither.NONE)
    return Image.fromarray(px, "RGB" if px.ndim == 3 else "L")


def write_pdf(path: Path, scans: list, dpi: int) -> None:
    """A scanner's PDF: one image per page, drawn at 100 % (JPEG as stored, bitonal pages as 1-bit Flate)."""
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    catalog = add(b"")
    pages_obj = add(b"")
    kids = []
    for sc in scans:
        h, w = sc.pixels.shape[:2]
        if sc.stored is not None:
            cs = b"/DeviceRGB" if sc.pixels.ndim == 3 else b"/DeviceGray"
            img = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 "
                      b"/Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, cs, len(sc.stored)) + sc.stored
                      + b"\nendstream")
        else:
            if sc.pixels.ndim != 2 or not set(np.unique(sc.pixels).tolist()) <= {0, 255}:
                raise ValueError("a PDF page without JPEG bytes must be bitonal")
            bits = np.packbits(sc.pixels > 127, axis=1).tobytes()
            data = zlib.compress(bits, 6)
            img = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                      b"/BitsPerComponent 1 /Filter /FlateDecode /Length %d >>\nstream\n" % (w, h, len(data)) + data
                      + b"\nendstream")
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (pw, ph)
        cobj = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject << /Im0 %d 0 R"
                        b" >> >> /Contents %d 0 R >>" % (pages_obj, pw, ph, img, cobj)))
    objs[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objs[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    buf = io.BytesIO()
    buf.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(buf.tell())
        buf.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = buf.tell()
    buf.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        buf.write(b"%010d 00000 n \n" % off)
    buf.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref))
    Path(path).write_bytes(buf.getvalue())


def sohoa_command() -> list[str]:
    """How to call the station's CLI (the venv's `sohoa`, else the module)."""
    exe = Path(sys.executable).with_name("sohoa")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "firmware_agent"]


def build(seed: int, n_docs: int, dest: Path, *, workers: int = 2, log=print) -> dict:
    """Generate the corpus into *dest* (``stacks/`` and ``truth.json``); returns the ground truth."""
    dest = Path(dest)
    stacks = dest / "stacks"
    stacks.mkdir(parents=True, exist_ok=True)
    truth = plan(seed, n_docs)
    work = dest / "covers"
    work.mkdir(exist_ok=True)
    covers = _cover_pdfs(truth, work, sohoa_command(), reuse=True)
    docs_by_rf: dict[int, list] = {}
    for d in truth["documents"]:
        docs_by_rf.setdefault(d["record_file"], []).append(d)
    pages_by_rf: dict[int, list] = {}
    for p in truth["pages"]:
        pages_by_rf.setdefault(p["record_file"], []).append(p)
    jobs = [(rf, docs_by_rf.get(rf["index"], []), pages_by_rf[rf["index"]], str(covers[rf["index"]]), str(stacks))
            for rf in truth["record_files"]]
    by_id = {p["id"]: p for p in truth["pages"]}
    # each record file's ground truth is kept beside its files as it is written, so an interrupted
    # build takes up where it stopped
    parts = dest / "parts"
    parts.mkdir(exist_ok=True)
    todo = []
    for job in jobs:
        part = parts / f"rf-{job[0]['index']:03d}.json"
        if part.exists():
            for pid, extra in json.loads(part.read_text(encoding="utf-8")).items():
                by_id[pid].update(extra)
        else:
            todo.append(job)
    done = len(jobs) - len(todo)
    with ProcessPoolExecutor(max(1, workers)) as pool:
        for job, result in zip(todo, pool.map(_record_file_pixels, todo)):
            for pid, extra in result.items():
                by_id[pid].update(extra)
            part = parts / f"rf-{job[0]['index']:03d}.json"
            part.with_suffix(".tmp").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
            os.replace(part.with_suffix(".tmp"), part)
            done += 1
            if done % 5 == 0 or done == len(jobs):
                log(f"corpus: {done}/{len(jobs)} record files written")
    truth["stack_files"] = sorted({p["file"] for p in truth["pages"]})
    (dest / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return truth
