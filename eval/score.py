"""Score the station's output (and the baselines' text) against the corpus ground truth.

Input: the ground truth (``corpus.build``), the station's output
(``station.run``: journal and packages) and the baselines' page texts. Output: a
dict of counts, per-page and per-document verdicts, breakdowns by document kind
and by degradation, and the calibration of the station's confidences. How each
figure is defined is written beside it here and repeated in EVALUATION.md.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict

import numpy as np

from eval.textmetrics import levenshtein, normalize, page_rates

FIELDS = ("typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject")
CONF_BINS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)
CUT_TOLERANCE_MM = 1.0
SUBJECT_NEAR = 0.15   # subject is "near" when its edit distance is at most 15 % of the true subject's length


def fold(text: str) -> str:
    text = (text or "").replace("Đ", "D").replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return re.sub(r"\s+", " ", text.upper()).strip()


def _organ_norm(s: str) -> str:
    s = normalize(s or "").casefold()
    return re.sub(r"\s+", " ", re.sub(r"[\-–—:;,.]", " ", s)).strip()


def _subject_norm(s: str) -> str:
    s = normalize(s or "").strip("() ")
    s = re.sub(r"^(về việc|v/v:?|v\.v\.?)\s*", "", s, flags=re.I)
    return s.casefold().strip(" .;:")


def field_right(name: str, truth: dict, value: str, label: str = "") -> bool:
    """Is the station's *value* for field *name* right for the document *truth*? (empty is right when none)."""
    value = (value or "").strip()
    if name == "typeName":
        if value != truth["type_code"]:
            return False
        # several kinds share code 32 (Khác): then the kind itself must be the one named
        return truth["type_code"] != "32" or fold(label) == fold(truth["label"])
    if name == "codeNumber":
        return value == truth["number"]
    if name == "codeNotation":
        return normalize(value).replace(" ", "") == normalize(truth["notation"]).replace(" ", "")
    if name == "issuedDate":
        return value == truth["issued_date"]
    if name == "organName":
        if not truth["organ_name"]:
            return not value
        return _organ_norm(value) in (_organ_norm(truth["organ_name"]), _organ_norm(truth["organ_full"]))
    if name == "subject":
        gt = _subject_norm(truth["subject"])
        if not gt:
            return not value
        got = _subject_norm(value)
        return levenshtein(gt, got) <= SUBJECT_NEAR * len(gt)
    raise ValueError(name)


def _truth_has(name: str, truth: dict) -> bool:
    return {"typeName": True, "codeNumber": bool(truth["number"]), "codeNotation": bool(truth["notation"]),
            "issuedDate": bool(truth["issued_date"]), "organName": bool(truth["organ_name"]),
            "subject": bool(truth["subject"])}[name]


# ------------------------------------------------------------------------------ geometry

def corrected(points, analysis: dict) -> np.ndarray:
    """Points of the input canvas in the station's corrected frame (docs/design.md §4)."""
    pts = np.asarray(points, dtype=np.float64)
    w, h = analysis["width"], analysis["height"]
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a = math.radians(analysis.get("angle_applied", 0.0) or 0.0)
    c, s = math.cos(a), math.sin(a)
    dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
    x, y = c * dx - s * dy, s * dx + c * dy
    turn = analysis.get("orientation", 0) or 0
    if turn == 90:
        x, y = -y, x
    elif turn == 180:
        x, y = -x, -y
    elif turn == 270:
        x, y = y, -x
    if turn in (90, 270):  # the corrected frame is H x W
        cx, cy = cy, cx
    return np.stack([x + cx, y + cy], axis=1)


def _clip(poly: list, box) -> list:
    """Sutherland-Hodgman: polygon clipped to an axis-aligned box."""
    x0, y0, x1, y1 = box
    for edge in range(4):
        out = []
        if not poly:
            break
        for i in range(len(poly)):
            p, q = poly[i - 1], poly[i]

            def inside(pt):
                return (pt[0] >= x0, pt[1] >= y0, pt[0] <= x1, pt[1] <= y1)[edge]

            def cross(a, b):
                if edge in (0, 2):
                    xe = (x0, None, x1)[edge]
                    t = (xe - a[0]) / (b[0] - a[0])
                    return (xe, a[1] + t * (b[1] - a[1]))
                ye = (None, y0, None, y1)[edge]
                t = (ye - a[1]) / (b[1] - a[1])
                return (a[0] + t * (b[0] - a[0]), ye)

            if inside(q):
                if not inside(p):
                    out.append(cross(p, q))
                out.append(q)
            elif inside(p):
                out.append(cross(p, q))
        poly = out
    return poly


def _area(poly) -> float:
    if len(poly) < 3:
        return 0.0
    a = np.asarray(poly)
    return 0.5 * abs(float(np.dot(a[:, 0], np.roll(a[:, 1], 1)) - np.dot(a[:, 1], np.roll(a[:, 0], 1))))


def crop_verdict(truth_page: dict, analysis: dict) -> dict:
    """Share of the sheet kept, and how far content lies outside the crop (mm), in the station's frame."""
    box = analysis["crop_box"]
    px_mm = truth_page["degradation"]["dpi"] / 25.4
    sheet = [tuple(p) for p in corrected(truth_page["sheet_quad"], analysis)]
    canvas = (0, 0, analysis["width"], analysis["height"])
    sheet_in = _clip(sheet, canvas)  # the scan may not hold the whole sheet
    kept = _area(_clip(sheet_in, box)) / max(_area(sheet_in), 1.0)
    cut = 0.0
    if truth_page.get("content_quad"):
        for x, y in corrected(truth_page["content_quad"], analysis):
            x, y = min(max(x, 0), canvas[2]), min(max(y, 0), canvas[3])
            cut = max(cut, box[0] - x, x - box[2], box[1] - y, y - box[3])
    return {"sheet_kept": round(kept, 4), "content_cut_mm": round(max(0.0, cut) / px_mm, 2)}


# ------------------------------------------------------------------------------ station view

# a cover sheet's fields as the package's EAD names them
_COVER_IN_EAD = (("file_code", "fileCode"), ("paper_file_code", "paperFileCode"), ("title", "title"),
                 ("maintenance", "maintenance"), ("mode", "mode"))


def cover_as_packaged(cover: dict, package: dict | None) -> dict:
    """A record file's cover fields as the archive receives them: the package's where it has them.

    A packaged secret record file's cover is scrubbed from the journal (design 6.6), so the journal
    alone would count its title, paper file code and maintenance wrong.
    """
    record = (package or {}).get("record") or {}
    out = dict(cover)
    for k, ead in _COVER_IN_EAD:
        if record.get(ead):
            out[k] = record[ead]
    return out


def station_view(truth: dict, out: dict) -> dict:
    """Index the station's output by ground-truth page id."""
    j = out["journal"]
    by_loc = {(p["file"], p["seq"]): p for p in j["pages"]}
    files = {f["id"]: f for f in j["files"]}
    pages = {}
    for tp in truth["pages"]:
        sp = by_loc.get((tp["file"], tp["index_in_file"]))
        role = j["roles"].get(sp["id"]) if sp else None
        pages[tp["id"]] = {"page": sp, "role": role}
    # station documents: (file id, seq) -> ordered station page ids; texts from the package or the journal
    docs: dict = defaultdict(list)
    for sp in j["pages"]:
        r = j["roles"].get(sp["id"])
        if r and r["role"] == "content" and r["doc_seq"]:
            docs[(r["file_id"], r["doc_seq"])].append(sp["id"])
    texts: dict[int, str | None] = {}
    colour: dict[int, int | None] = {}
    values: dict = {}
    for (fid, seq), pids in docs.items():
        f = files[fid]
        pkg = out["packages"].get(fid) or {}
        ead_docs = pkg.get("documents", {})
        code = (pkg.get("record") or {}).get("fileCode") or f.get("file_code") or ""
        entry = ead_docs.get(f"{code}.{seq}", {})
        page_texts = entry.get("page_texts")
        images = {im["page"]: im for im in entry.get("images", [])}
        for i, pid in enumerate(pids):
            if page_texts is not None and i < len(page_texts):
                texts[pid] = page_texts[i]
            else:
                o = j["ocr"].get(pid)
                texts[pid] = "\n".join(o["lines"]) if o and o["lines"] else None
            im = images.get(i + 1)
            colour[pid] = im["comp"] if im else None
        rec = next((d for d in f["docs"] if d["seq"] == seq), None)
        v = dict(rec["fields"]) if rec else {}
        if entry.get("fields"):
            for k in FIELDS:
                v[k] = entry["fields"].get(k, v.get(k, ""))
        values[(fid, seq)] = {"values": v, "confidence": (rec or {}).get("confidence", {}),
                              "needs": (rec or {}).get("needs", []), "label": v.get("label", ""),
                              "packaged": bool(entry.get("fields"))}
    return {"pages": pages, "docs": dict(docs), "texts": texts, "colour": colour, "values": values, "files": files}


# ------------------------------------------------------------------------------ scoring

def score(truth: dict, out: dict, baselines: dict) -> dict:
    sv = station_view(truth, out)
    tpages = {p["id"]: p for p in truth["pages"]}
    tdocs = {d["id"]: d for d in truth["documents"]}
    res: dict = {"pages": {}, "documents": {}, "record_files": {}}
    sid_to_tid = {v["page"]["id"]: k for k, v in sv["pages"].items() if v["page"]}

    # ---- pages
    for tid, tp in tpages.items():
        st = sv["pages"][tid]
        sp, role = st["page"], st["role"]
        a = sp["analysis"] if sp else None
        v = {"role_true": tp["role"], "role_station": role["role"] if role else ("failed" if sp and sp.get("error")
                                                                                  else "missing"),
             "tags": tp["degradation"]["tags"], "kind": tdocs[tp["document"]]["kind"] if tp["document"] else None,
             "blank_station": bool(a and a.get("blank")), "orientation_true": tp["degradation"]["orientation"],
             "orientation_station": (a or {}).get("orientation"), "channels_true": tp["channels"],
             "channels_station": None}
        if a and tp["role"] == "content":
            v.update(crop_verdict(tp, a))
            v["upright"] = (tp["degradation"]["orientation"] + (a.get("orientation") or 0)) % 360 == 0
        if sp:
            sid = sp["id"]
            v["channels_station"] = sv["colour"].get(sid) or sp.get("channels")
        if tp["role"] == "content":
            text = sv["texts"].get(sp["id"]) if sp else None
            v["station_text_found"] = text is not None
            v["cer"] = {"station": page_rates(tp["text_lines"], text or "")}
            for name, texts in baselines.items():
                if tid in texts:
                    v["cer"][name] = page_rates(tp["text_lines"], texts[tid])
        res["pages"][tid] = v

    # ---- documents: a true document is matched when a station document starts on its first page
    first_of = {}
    for key, pids in sv["docs"].items():
        first_of[pids[0]] = key
    matched_keys = set()
    for did, td in tdocs.items():
        first_sid = (sv["pages"][td["page_ids"][0]]["page"] or {}).get("id")
        key = first_of.get(first_sid)
        v = {"kind": td["kind"], "record_file": td["record_file"], "matched": key is not None, "fields": {}}
        if key is not None:
            matched_keys.add(key)
            got = sv["values"][key]
            pages_got = [sid_to_tid.get(s) for s in sv["docs"][key]]
            v["pages_right"] = pages_got == td["page_ids"]
            v["label"] = got["label"]
            v["packaged"] = got["packaged"]
            for name in FIELDS:
                val = got["values"].get(name, "")
                v["fields"][name] = {"value": val, "right": field_right(name, td, val, got["label"]),
                                     "confidence": got["confidence"].get(name, got["confidence"].get(
                                         "codeNumber") if name == "codeNotation" else None),
                                     "accepted": name not in got["needs"], "applicable": _truth_has(name, td)}
        else:
            v["pages_right"] = False
            for name in FIELDS:
                v["fields"][name] = {"value": None, "right": False, "confidence": None, "accepted": False,
                                     "applicable": _truth_has(name, td)}
        res["documents"][did] = v
    spurious = []
    for key, got in sv["values"].items():
        if key in matched_keys:
            continue
        bad = [n for n in FIELDS if n not in got["needs"] and (got["values"].get(n) or "").strip()]
        spurious.append({"file_id": key[0], "seq": key[1], "accepted_values": bad,
                         "pages": [sid_to_tid.get(s) for s in sv["docs"][key]],
                         "confidence": {n: got["confidence"].get(n) for n in FIELDS}})
    res["spurious_documents"] = spurious

    # ---- record files
    for rf in truth["record_files"]:
        cover_tid = rf["pages"][0]
        cover_sid = (sv["pages"][cover_tid]["page"] or {}).get("id")
        content = [p for p in rf["pages"] if tpages[p]["role"] == "content"]
        st_file_ids = {sv["pages"][p]["role"]["file_id"] for p in content if sv["pages"][p]["role"]}
        fid = next((f["id"] for f in sv["files"].values() if f.get("cover_page_id") == cover_sid
                    and cover_sid is not None), None)
        v = {"file_code": rf["file_code"], "mode": rf["mode"], "station_file": fid, "reasons": [],
             "documents": len(rf["documents"])}
        if fid is None:
            v["reasons"].append("cover sheet not read")
        f = sv["files"].get(fid) if fid is not None else None
        if f is not None:
            cov = cover_as_packaged(f["cover"], out["packages"].get(fid))
            for k in ("file_code", "paper_file_code", "title", "maintenance", "mode"):
                if cov.get(k) != rf[k]:
                    v["reasons"].append(f"cover field {k}")
            v["state"], v["hold"] = f["state"], f["hold_code"]
        if st_file_ids - {fid}:
            v["reasons"].append("some of its pages in another record file")
        if fid is not None:
            mine = [sid_to_tid.get(s) for key, pids in sorted(sv["docs"].items()) if key[0] == fid for s in pids]
            lost = set(content) - set(mine)
            foreign = [x for x in mine if x not in set(content)]
            if lost:
                v["reasons"].append(f"{len(lost)} of its content pages in no document of it")
            if foreign:
                v["reasons"].append(f"{len(foreign)} other pages in its documents")
            station_docs = [[sid_to_tid.get(s) for s in pids] for key, pids in sorted(sv["docs"].items())
                            if key[0] == fid]
            true_docs = [tdocs[d]["page_ids"] for d in rf["documents"]]
            if station_docs != true_docs:
                v["reasons"].append(f"documents not as on paper ({len(station_docs)} found, {len(true_docs)} true)")
        v["exact"] = not v["reasons"]
        res["record_files"][rf["index"]] = v
    res["worst_merge"] = _worst_merge(truth, sv, sid_to_tid)
    # pages the station put into a record file before a page scanned earlier was (documented_at)
    latest, late = 0.0, 0
    for sp in sorted(out["journal"]["pages"], key=lambda r: r["id"], reverse=True):
        at = sp.get("documented_at")
        if at is None:
            continue
        if at > latest and latest:
            late += 1
        latest = min(latest, at) if latest else at
    res["assigned_out_of_order"] = late
    res["summary"] = summarise(truth, res)
    return res


def _worst_merge(truth, sv, sid_to_tid) -> dict:
    tpages = {p["id"]: p for p in truth["pages"]}
    best = {}
    for key, pids in sv["docs"].items():
        tids = [sid_to_tid.get(s) for s in pids if sid_to_tid.get(s)]
        rfs = {tpages[t]["record_file"] for t in tids}
        docs = {tpages[t]["document"] for t in tids if tpages[t]["document"]}
        if not best or (len(docs), len(rfs)) > (best["documents"], best["record_files"]):
            label = sv["values"].get(key, {}).get("label", "")
            best = {"station_file": key[0], "seq": key[1], "documents": len(docs), "record_files": len(rfs),
                    "pages": len(tids), "typed_as": label}
    return best


def _rate(n: int, d: int) -> dict:
    return {"n": n, "of": d, "pct": round(100.0 * n / d, 1) if d else None}


def _cer_total(pages: list[dict], engine: str, key: str = "lines") -> float | None:
    e = t = 0
    for p in pages:
        c = p.get("cer", {}).get(engine)
        if c:
            e += c[key][0]
            t += c[key][1]
    return round(100.0 * e / t, 2) if t else None


def summarise(truth: dict, res: dict) -> dict:
    pages = res["pages"]
    docs = res["documents"]
    s: dict = {}
    covers = [p for p in pages.values() if p["role_true"] == "cover"]
    patches = [p for p in pages.values() if p["role_true"] == "patch"]
    s["covers"] = _rate(sum(p["role_station"] == "cover" for p in covers), len(covers))
    s["covers_flagged"] = sum(p["role_station"] == "damaged" for p in covers)
    s["covers_as_content"] = sum(p["role_station"] == "content" for p in covers)
    s["patches"] = _rate(sum(p["role_station"] == "patch" for p in patches), len(patches))
    s["patches_as_content"] = sum(p["role_station"] == "content" for p in patches)
    s["false_separators"] = sum(p["role_station"] in ("cover", "patch", "damaged") for p in pages.values()
                                if p["role_true"] in ("content", "blank"))
    rfs = res["record_files"].values()
    s["record_files"] = _rate(sum(v["exact"] for v in rfs), len(res["record_files"]))
    s["record_files_packaged"] = sum(v.get("state") == "packaged" for v in rfs)
    s["record_files_held"] = sum(v.get("state") == "held" for v in rfs)
    s["holds"] = dict(sorted(_count(v.get("hold") for v in rfs if v.get("hold")).items()))
    s["worst_merge"] = res["worst_merge"]
    content = [p for p in pages.values() if p["role_true"] == "content"]
    with_a = [p for p in content if "sheet_kept" in p]
    s["content_pages"] = len(content)
    s["cropped_under_90"] = _rate(sum(p["sheet_kept"] < 0.9 for p in with_a), len(content))
    s["content_cut"] = _rate(sum(p["content_cut_mm"] > CUT_TOLERANCE_MM for p in with_a), len(content))
    s["worst_cut_mm"] = max((p["content_cut_mm"] for p in with_a), default=0.0)
    s["turned_wrong"] = _rate(sum(not p.get("upright", False) for p in content), len(content))
    s["upright_turned"] = sum(p["orientation_true"] == 0 and p.get("orientation_station") == 180 for p in content)
    s["upside_down_kept"] = sum(p["orientation_true"] == 180 and p.get("orientation_station") != 180 for p in content)
    s["sideways_kept"] = sum(p["orientation_true"] in (90, 270) and not p.get("upright") for p in content)
    s["orientation_right"] = _rate(sum(p.get("upright", False) for p in content), len(content))
    intact = [p for p in content if p["orientation_true"] == 0 and p.get("orientation_station") == 0
              and p.get("content_cut_mm", 99) <= CUT_TOLERANCE_MM and p["role_station"] == "content"]
    engines = sorted({e for p in content for e in p.get("cer", {})})
    s["cer_intact"] = {e: {k: _cer_total(intact, e, k) for k in ("lines", "strict", "lines_nodia", "strict_nodia")}
                       for e in engines}
    s["cer_all"] = {e: {k: _cer_total(content, e, k) for k in ("lines", "strict", "lines_nodia", "strict_nodia")}
                    for e in engines}
    s["intact_pages"] = len(intact)
    s["cer_subsets"] = {}
    for eng in ("ocrmypdf", "ocrmypdf_rd"):
        sub = [p for p in content if eng in p.get("cer", {})]
        if sub and len(sub) < len(content):
            s["cer_subsets"][eng] = {"pages": len(sub), **{e: _cer_total(sub, e) for e in engines}}
    dl = list(docs.values())
    s["documents"] = len(dl)
    s["doc_matched"] = _rate(sum(d["matched"] for d in dl), len(dl))
    for name in ("typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject"):
        app = [d for d in dl if d["fields"][name]["applicable"]]
        s[f"field_{name}"] = _rate(sum(d["fields"][name]["right"] for d in app), len(app))
        s[f"spurious_{name}"] = sum(1 for d in dl if not d["fields"][name]["applicable"]
                                    and (d["fields"][name]["value"] or "").strip())
    all_values = len(dl) * len(FIELDS)
    wrong_acc = sum(1 for d in dl for f in d["fields"].values()
                    if f["accepted"] and (f["value"] or "").strip() and not f["right"])
    wrong_acc += sum(len(x["accepted_values"]) for x in res["spurious_documents"])
    s["wrong_above_threshold"] = _rate(wrong_acc, all_values)
    s["missing_unflagged"] = sum(1 for d in dl for f in d["fields"].values()
                                 if f["accepted"] and f["applicable"] and not (f["value"] or "").strip())
    acc = [f for d in dl for f in d["fields"].values() if f["accepted"] and (f["value"] or "").strip()]
    s["accepted_right"] = _rate(sum(f["right"] for f in acc), len(acc))
    s["spurious_documents"] = len(res["spurious_documents"])
    blanks = [p for p in pages.values() if p["role_true"] == "blank"]
    nonblank = [p for p in pages.values() if p["role_true"] != "blank" and p["role_station"] != "missing"]
    s["blank_found"] = _rate(sum(p["blank_station"] for p in blanks), len(blanks))
    s["nonblank_kept"] = _rate(sum(not p["blank_station"] for p in nonblank), len(nonblank))
    rgb = [p for p in pages.values() if p["channels_true"] == 3 and p["role_true"] == "content"]
    s["rgb_pages"] = len(rgb)
    s["rgb_kept_colour"] = _rate(sum(p["channels_station"] == 3 for p in rgb), len(rgb))
    eq = [p for p in rgb if "rgb_equal" in p["tags"]]
    s["rgb_equal_kept_colour"] = _rate(sum(p["channels_station"] == 3 for p in eq), len(eq))
    s["failed_pages"] = sum(p["role_station"] in ("failed", "missing") for p in pages.values())
    s["assigned_out_of_order"] = res.get("assigned_out_of_order", 0)
    s["by_kind"] = _by_kind(res, engines)
    s["by_degradation"] = _by_degradation(res, engines)
    s["calibration"] = _calibration(res)
    return s


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _by_kind(res: dict, engines: list[str]) -> dict:
    out = {}
    kinds = sorted({d["kind"] for d in res["documents"].values()})
    for k in kinds:
        dl = [d for d in res["documents"].values() if d["kind"] == k]
        row = {"documents": len(dl), "pages_right": sum(d["pages_right"] for d in dl)}
        for name in FIELDS:
            app = [d for d in dl if d["fields"][name]["applicable"]]
            row[name] = [sum(d["fields"][name]["right"] for d in app), len(app)]
        pages = [p for p in res["pages"].values() if p["kind"] == k and p["role_true"] == "content"]
        row["pages"] = len(pages)
        row["cer"] = {e: _cer_total(pages, e) for e in engines}
        out[k] = row
    return out


def _by_degradation(res: dict, engines: list[str]) -> dict:
    out = {}
    tags = sorted({t for p in res["pages"].values() for t in p["tags"]})
    for t in tags:
        ps = [p for p in res["pages"].values() if t in p["tags"]]
        content = [p for p in ps if p["role_true"] == "content"]
        seps = [p for p in ps if p["role_true"] in ("cover", "patch")]
        blanks = [p for p in ps if p["role_true"] == "blank"]
        out[t] = {"pages": len(ps), "content": len(content),
                  "separators_found": [sum(p["role_station"] == p["role_true"] for p in seps), len(seps)],
                  "blank_found": [sum(p["blank_station"] for p in blanks), len(blanks)],
                  "upright": [sum(p.get("upright", False) for p in content), len(content)],
                  "cut": [sum(p.get("content_cut_mm", 0) > CUT_TOLERANCE_MM for p in content), len(content)],
                  "under_90": [sum(p.get("sheet_kept", 1) < 0.9 for p in content), len(content)],
                  "cer": {e: _cer_total(content, e) for e in engines}}
    return out


def _calibration(res: dict) -> dict:
    out = {}
    for name in FIELDS:
        rows = []
        fs = [d["fields"][name] for d in res["documents"].values() if d["matched"]]
        for lo, hi in zip(CONF_BINS[:-1], CONF_BINS[1:]):
            inb = [f for f in fs if f["confidence"] is not None and lo <= f["confidence"] < hi]
            rows.append({"bin": [lo, min(hi, 1.0)], "n": len(inb), "right": sum(f["right"] for f in inb)})
        acc = [f for f in fs if f["accepted"] and (f["value"] or "").strip()]
        below = [f for f in fs if not f["accepted"]]
        out[name] = {"bins": rows, "accepted": [sum(f["right"] for f in acc), len(acc)],
                     "held": [sum(f["right"] for f in below), len(below)]}
    return out
