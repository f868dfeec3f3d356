"""EVALUATION.md from a scored run: the headline table with targets, breakdowns, calibration, method."""

from __future__ import annotations

from eval.documents import KIND_BY_KEY
from eval.score import CUT_TOLERANCE_MM, FIELDS, SUBJECT_NEAR

ENGINE_NAMES = {"station": "station", "tesseract": "plain tesseract", "ocrmypdf": "OCRmyPDF",
                "ocrmypdf_rd": "OCRmyPDF --rotate-pages --deskew"}
FIELD_NAMES = {"typeName": "document type", "codeNumber": "number", "codeNotation": "notation",
               "issuedDate": "issued date", "organName": "issuing body", "subject": "subject (near)"}


def _r(x: dict) -> str:
    if not x or x.get("of") in (None, 0):
        return "n/a"
    return f"{x['n']} of {x['of']} ({x['pct']:.1f} %)"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def _pct(x: dict) -> float | None:
    return x.get("pct") if x and x.get("of") else None


def _ge(x: dict, target: float) -> bool | None:
    p = _pct(x)
    return None if p is None else p >= target


def _frac(pair) -> str:
    n, d = pair
    return f"{n}/{d}" if d else "–"


def _cer(v) -> str:
    return "–" if v is None else f"{v:.1f} %"


def headline(s: dict, thr: dict) -> list[str]:
    ci, ca = s["cer_all"], s["cer_intact"]
    st_i, te_i = ci.get("station", {}), ci.get("tesseract", {})
    rows = []

    def row(what, result, target, ok):
        rows.append(f"| {what} | {result} | {target} | {_met(ok)} |")

    row("cover sheets recognised", f"{_r(s['covers'])}; {s['covers_flagged']} flagged as damaged, "
        f"{s['covers_as_content']} became content pages", "100 %", _ge(s["covers"], 100))
    row("PATCHT sheets recognised", f"{_r(s['patches'])}; {s['patches_as_content']} became content pages",
        "100 %", _ge(s["patches"], 100))
    row("pages taken for a separator that are not one", str(s["false_separators"]), "0", s["false_separators"] == 0)
    wm = s["worst_merge"] or {}
    row("record files exactly right", f"{_r(s['record_files'])}; {s['record_files_packaged']} packaged, "
        f"{s['record_files_held']} held; worst document: {wm.get('documents', 0)} true documents from "
        f"{wm.get('record_files', 0)} record files in one, typed \"{wm.get('typed_as', '')}\"", "≥ 99 %",
        _ge(s["record_files"], 99))
    row("content pages cropped to under 90 % of the sheet", _r(s["cropped_under_90"]), "0", None
        if not s["cropped_under_90"]["of"] else s["cropped_under_90"]["n"] == 0)
    row(f"content pages with content cut (> {CUT_TOLERANCE_MM:g} mm outside the crop)",
        f"{_r(s['content_cut'])}; worst {s['worst_cut_mm']:.0f} mm", "none", s["content_cut"]["n"] == 0)
    row("pages turned wrong", f"{_r(s['turned_wrong'])} ({s['upright_turned']} upright pages turned 180°, "
        f"{s['upside_down_kept']} upside-down pages not turned, {s['sideways_kept']} sideways pages not turned)",
        "orientation ≥ 99 % right", _ge(s["orientation_right"], 99))
    engines = [e for e in ("station", "tesseract", "ocrmypdf", "ocrmypdf_rd") if e in ca]

    subsets = s.get("cer_subsets", {})

    def cer_line(c):
        return "; ".join(f"{ENGINE_NAMES[e]}{' (its share of the pages, see below)' if e in subsets else ''} "
                         f"{_cer(c[e]['lines'])} ({_cer(c[e]['strict'])})" for e in engines)

    ok_i = None if not te_i else (ca["station"]["lines"] or 0) <= (ca["tesseract"]["lines"] or 0)
    ok_a = None if not te_i else (st_i.get("lines") or 0) <= (te_i.get("lines") or 0)
    row(f"OCR character error rate, upright pages the clean-up left intact ({s['intact_pages']} pages)",
        cer_line(ca), "no worse than plain tesseract", ok_i)
    row(f"OCR character error rate over all content pages ({s['content_pages']})", cer_line(ci),
        "no worse than plain tesseract", ok_a)
    kinds_ok = [k for k, v in s["by_kind"].items() if v["cer"].get("tesseract") is not None
                and v["cer"].get("station") is not None and v["cer"]["station"] <= v["cer"]["tesseract"]]
    kinds_cmp = [k for k, v in s["by_kind"].items() if v["cer"].get("tesseract") is not None]
    row("document kinds whose station CER is no worse than plain tesseract's", f"{len(kinds_ok)} of {len(kinds_cmp)}",
        "every kind", None if not kinds_cmp else len(kinds_ok) == len(kinds_cmp))
    row("documents found (a station document starts on the true first page)", _r(s["doc_matched"]), "", None)
    row("document type right", _r(s["field_typeName"]), "≥ 95 %", _ge(s["field_typeName"], 95))
    for name, label in (("codeNumber", "number exact"), ("codeNotation", "notation exact"),
                        ("issuedDate", "issued date exact")):
        spur = s[f"spurious_{name}"]
        row(label, _r(s[f"field_{name}"]) + (f"; {spur} given where the document has none" if spur else ""),
            "≥ 95 %", _ge(s[f"field_{name}"], 95))
    row("issuing body exact", _r(s["field_organName"]) + (f"; {s['spurious_organName']} given where there is none"
                                                          if s["spurious_organName"] else ""),
        "≥ 90 %", _ge(s["field_organName"], 90))
    row("subject near", _r(s["field_subject"]), "≥ 85 %", _ge(s["field_subject"], 85))
    wa = s["wrong_above_threshold"]
    row("wrong values above their confidence threshold", f"{wa['n']} ({wa['pct']:.1f} % of {wa['of']} values); "
        f"{s['missing_unflagged']} values missing without being flagged", "≤ 2 % of all values",
        wa["pct"] is not None and wa["pct"] <= 2.0)
    row("values above threshold that are right (calibration)", _r(s["accepted_right"]), "≥ 98 %",
        _ge(s["accepted_right"], 98))
    row("blank pages detected (dark border, dust, bleed-through, yellowing)", _r(s["blank_found"]), "≥ 99 %",
        _ge(s["blank_found"], 99))
    row("non-blank pages kept as non-blank", _r(s["nonblank_kept"]), "≥ 99 %", _ge(s["nonblank_kept"], 99))
    row("RGB content pages kept as 24-bit colour", f"{_r(s['rgb_kept_colour'])}; of them with equal channels: "
        f"{_r(s['rgb_equal_kept_colour'])}", "all (TT 05/2025: 24-bit colour)",
        _ge(s["rgb_kept_colour"], 100))
    if thr.get("ocrmypdf_ppm"):
        ratio = thr["station_ppm"] / thr["ocrmypdf_ppm"]
        row("throughput, all pages", f"station {thr['station_ppm']:.1f} pages/min, OCRmyPDF "
            f"{thr['ocrmypdf_ppm']:.1f} pages/min ({ratio:.2f}×)", "≥ 2× OCRmyPDF", ratio >= 2)
    else:
        row("throughput, all pages", f"station {thr['station_ppm']:.1f} pages/min (no baseline run)", "≥ 2× OCRmyPDF",
            None)
    return ["| what | result | target | |", "|---|---|---|---|"] + rows


def by_kind(s: dict) -> list[str]:
    engines = [e for e in ("station", "tesseract", "ocrmypdf", "ocrmypdf_rd")
               if any(e in v["cer"] for v in s["by_kind"].values())]
    head = "| kind | code | docs | pages | split right | type | number | notation | date | body | subject | " + \
           " | ".join(f"CER {e}" for e in engines) + " |"
    out = [head, "|" + "---|" * (11 + len(engines))]
    for k, v in sorted(s["by_kind"].items(), key=lambda kv: -kv[1]["documents"]):
        kind = KIND_BY_KEY[k]
        out.append(f"| {kind.label} | {kind.type_code} | {v['documents']} | {v['pages']} | "
                   f"{v['pages_right']}/{v['documents']} | " + " | ".join(_frac(v[f]) for f in FIELDS) + " | " +
                   " | ".join(_cer(v["cer"].get(e)) for e in engines) + " |")
    return out


def by_degradation(s: dict) -> list[str]:
    engines = [e for e in ("station", "tesseract", "ocrmypdf", "ocrmypdf_rd")
               if any(e in v["cer"] for v in s["by_degradation"].values())]
    out = ["| degradation | pages | content | separators found | blanks found | upright | cut | < 90 % kept | " +
           " | ".join(f"CER {e}" for e in engines) + " |", "|" + "---|" * (8 + len(engines))]
    for t, v in sorted(s["by_degradation"].items()):
        out.append(f"| {t} | {v['pages']} | {v['content']} | {_frac(v['separators_found'])} | "
                   f"{_frac(v['blank_found'])} | {_frac(v['upright'])} | {_frac(v['cut'])} | {_frac(v['under_90'])} | "
                   + " | ".join(_cer(v["cer"].get(e)) for e in engines) + " |")
    return out


def calibration(s: dict) -> list[str]:
    out = []
    bins = s["calibration"][FIELDS[0]]["bins"]
    out.append("| field | " + " | ".join(f"{b['bin'][0]:.2f}–{b['bin'][1]:.2f}" for b in bins) +
               " | passed (not held) right | held right |")
    out.append("|" + "---|" * (len(bins) + 3))
    for name in FIELDS:
        c = s["calibration"][name]
        cells = []
        for b in c["bins"]:
            cells.append(f"{b['right']}/{b['n']} ({100 * b['right'] / b['n']:.0f} %)" if b["n"] else "–")
        acc, held = c["accepted"], c["held"]
        out.append(f"| {FIELD_NAMES[name]} | " + " | ".join(cells) +
                   f" | {_frac(acc)}{f' ({100 * acc[0] / acc[1]:.0f} %)' if acc[1] else ''} | {_frac(held)} |")
    return out


def write(path, s: dict, meta: dict, thr: dict, record_files: dict) -> str:
    kinds = len(s["by_kind"])
    lines = [
        "# Evaluation of the station on an unseen, degraded corpus",
        "",
        f"Generated by `make eval` ({meta['command']}) on {meta['date']}; station at git {meta['git']}. "
        f"Corpus seed {meta['seed']}: {meta['record_files']} record files, {meta['documents']} documents of "
        f"{kinds} kinds, {meta['pages']} pages ({meta['content_pages']} content, {meta['covers']} cover sheets, "
        f"{meta['patches']} PATCHT sheets, {meta['blanks']} blank). Whole run: {meta['run_minutes']:.1f} min.",
        "",
        "Targets are the accuracy issue's. **Missed targets are listed as missed**: this file measures the station "
        "as it is, so that changes to it can be judged against the same corpus.",
        "",
        "## Headline",
        "",
    ]
    lines += headline(s, thr)
    lines += [
        "",
        f"CER: line-order-free rate first, reading-order rate in brackets (both with diacritics; see *How*). "
        f"Holds: {', '.join(f'{k} {v}' for k, v in s['holds'].items()) or 'none'}. Station pages that failed or never "
        f"arrived: {s['failed_pages']}. Station documents that start on a page which is not a true first page: "
        f"{s['spurious_documents']}. Pages the station assigned to a record file and document before a page "
        f"scanned earlier than them had been assigned (journal `page_events`): {s.get('assigned_out_of_order', 0)}.",
        "",
        "### Without diacritics",
        "",
        "| engine | intact pages | all content pages |",
        "|---|---|---|",
    ]
    for e in s["cer_all"]:
        lines.append(f"| {e} | {_cer(s['cer_intact'][e]['lines_nodia'])} (reading order "
                     f"{_cer(s['cer_intact'][e]['strict_nodia'])}) | {_cer(s['cer_all'][e]['lines_nodia'])} "
                     f"(reading order {_cer(s['cer_all'][e]['strict_nodia'])}) |")
    for eng, sub in s.get("cer_subsets", {}).items():
        every = meta.get("ocrmypdf_every" if eng == "ocrmypdf" else "rd_every")
        lines += ["", f"{ENGINE_NAMES[eng]} ran on the scan jobs of one record file in {every} only "
                      f"({sub['pages']} content pages), to keep the run within the time the shared machine allows; "
                      f"its CER figures above are over those pages. On the same pages, line-order free: " +
                  ", ".join(f"{ENGINE_NAMES[e]} {_cer(sub.get(e))}" for e in
                            ("station", "tesseract", "ocrmypdf", "ocrmypdf_rd") if e in sub) + "."]
    lines += ["", "## Per document kind", "",
              "Fields as right/applicable (a document without a number is not counted for the number). "
              "CER over the kind's content pages, line-order free.", ""]
    lines += by_kind(s)
    lines += ["", "CER columns of an engine run on a subset are over that subset only.", "", "## Per degradation", "",
              "A page counts under every degradation it carries (a page usually carries several). "
              "Separators found: cover/PATCHT pages given their own role; upright, cut and < 90 % kept: content "
              "pages.", ""]
    lines += by_degradation(s)
    lines += ["", "## Calibration of the station's confidences", "",
              "Per field: station documents that start on a true first page, by the confidence the station gave "
              "(right/in bin). *Passed* = not listed in the record file's `needs_confirmation` (at or above its "
              "threshold; the notation has no threshold and always passes).", ""]
    lines += calibration(s)
    lines += ["", "## Record files", "",
              "Each true record file, the station's record file that its cover sheet opened, its state and hold "
              "reason, and what kept it from being exactly right.", "",
              "| # | fileCode | mode | documents | station file | state | hold | exactly right | why not |",
              "|---|---|---|---|---|---|---|---|---|"]
    for i, v in sorted(record_files.items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {int(i) + 1} | {v['file_code']} | {v['mode']} | {v['documents']} | "
                     f"{v['station_file'] if v['station_file'] is not None else '–'} | {v.get('state', '–')} | "
                     f"{v.get('hold') or '–'} | {'yes' if v['exact'] else 'no'} | {'; '.join(v['reasons'])} |")
    lines += ["", "## Throughput", "",
              f"- station: {meta['pages']} pages (every page the copier wrote: content, separators, blanks) in "
              f"{thr['station_s']:.0f} s from the first file dropped into the hot folder until every record file "
              f"was packaged or held = **{thr['station_ppm']:.1f} pages/min** (includes the last record file's "
              f"{meta['close_after_s']:.0f} s idle close)."]
    if thr.get("ocrmypdf_ppm"):
        lines.append(f"- OCRmyPDF ({meta['versions'].get('ocrmypdf', '?')}, default settings, `--jobs 2`): "
                     f"{thr.get('ocrmypdf_pages', meta['pages'])} of the same pages (every page of the scan jobs it "
                     f"ran on), one run per scan job, {thr['ocrmypdf_s']:.0f} s = **{thr['ocrmypdf_ppm']:.1f} "
                     f"pages/min**" + (f"; with `--rotate-pages --deskew` {thr['ocrmypdf_rd_s']:.0f} s on its share"
                                       if "ocrmypdf_rd_s" in thr else " (the `--rotate-pages --deskew` variant was "
                                       "not run)") + f". Failed jobs: {meta.get('ocrmypdf_failed', 0)}.")
        if meta.get("ocrmypdf_text_rerun"):
            lines.append(f"- OCRmyPDF's page texts come from a second run of the same command on the same files "
                         f"({meta['ocrmypdf_text_rerun']:.0f} s), read with `pdftotext -raw`: the measuring run read "
                         f"them in pdftotext's layout mode, which tears the slanted lines of pages OCRmyPDF does not "
                         f"deskew into fragments (39 % CER where tesseract itself read 19 % on the same pages). Its "
                         f"pages/min above are the measuring run's.")
        lines.append(f"- plain tesseract ({meta['versions'].get('tesseract', '?')}), content pages only, two at a "
                     f"time: {thr.get('tesseract_s', 0):.0f} s for {meta['content_pages']} pages.")
    earlier = meta.get("baselines_from")
    if earlier:
        lines.append(f"- The baselines' texts and timings are an earlier run's on the same corpus (`{earlier['command']}`, "
                     f"whose station ran at {earlier['station_ppm']:.1f} pages/min at load {earlier['station_load']}): "
                     f"they do not depend on the station's code. The ratio above sets this run's station against "
                     f"that run's OCRmyPDF.")
    lines.append("- Runs one after the other on the same machine: station, then plain tesseract, then OCRmyPDF"
                 + (", then OCRmyPDF with rotation and deskew" if "ocrmypdf_rd_s" in thr else "") + ". The machine "
                 "is shared: when the load average changes during the run (see *Machine*), the stages run under "
                 "different loads" + (" (load average at the start of each: " + ", ".join(
                     f"{k} {v}" for k, v in thr["loads"].items()) + ")" if thr.get("loads") else "") + ".")
    lines += ["", "## Machine", "", f"- {meta['machine']}", f"- load average before the run: {meta['load_before']}, "
              f"after: {meta['load_after']} (the machine is shared; figures vary with its load)", ""]
    lines += ["## Reproduce", "",
              "`make eval` (the corpus is generated into `.cache/eval/` on first use, then reused); "
              "`make eval EVAL_ARGS=--quick` for a 24-document subset in a few minutes; other options in "
              "`.venv/bin/python -m eval --help` (`--seed`, `--docs N`, `--keep` to keep the station's state folder, "
              "`--no-baselines`, `--ocrmypdf-every N`, `--rescore` to score the last run's saved output again). "
              "Per-page, per-document and per-record-file verdicts are in `eval/results.json` (for a full run; "
              "under `.cache/eval/` otherwise), for diffing runs.", ""]
    lines += ["## How every figure was computed", "", METHOD.format(cut=CUT_TOLERANCE_MM, near=int(SUBJECT_NEAR * 100)),
              ""]
    text = "\n".join(lines) + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return text


METHOD = """\
- **Corpus** (`eval/corpus.py`, `eval/documents.py`, `eval/render.py`, `eval/degrade.py`, word lists in
  `eval/vocab.py`): generated from the seed at `make eval` time into `.cache/eval/`; the same seed and size give
  the same files. Documents follow Nghị định 30/2020 (two-column header with the issuing body on one or two lines
  and a short rule, number and notation, place and date in italics, type name, trích yếu, body with "Căn cứ" lines
  carrying other dates and numbers, signature block, red seal over the signature) or their own printed forms
  (civil-status extracts and certificates with birth dates, a landscape land-use certificate with a two-line title
  and form labels, petitions and declarations with handwritten values, a land transfer contract). Fonts: Liberation
  Serif, FreeSerif, DejaVu Serif, TeX Gyre Termes; sizes, margins, line spacing and column widths vary per
  document; handwriting is jittered oblique glyphs in blue ink. Each record file starts with its cover sheet
  printed by `sohoa coversheet` and has a PATCHT sheet (from the same command) between two documents; a record file
  of one document has none, since in separator mode `coversheet` only a PATCHT sheet starts a document (design
  §6.2 S5). Blank pages belong to no document.
- **Degradations** (recorded per page in `truth.json`): 200/300 dpi; skew ±3° (separators ±5°); JPEG quality per
  copier 60–85, 15 % of pages 40–60, separators 40; noise; blur; light falling off linearly by 10–33 % across the
  page; yellowed paper; photocopy (grey ink, grey speckle, dark edges, streaks); fax-like bitonal; upside down;
  landscape sheets fed portrait-wise (90/270°); dark, light or no scanner border; coffee stains; punched holes (the
  backing shows through); staple shadow; dust; red rectangular stamps over the text; red seals over signatures;
  bleed-through; colour pages whose channels are equal. Files: one PDF or multi-page TIFF per scan job, or one
  JPEG per page, named in feed order; about one record file in seven is split over two scan jobs.
- **Station**: `sohoa run` with a temporary config (hot folder, records on, `close_after_s` as above, no scanner,
  no sync endpoint, an X25519 key for secret record files so they are packaged encrypted and read back with the
  archive's private key); every file is written beside the hot folder and renamed into it. Done when every file
  was taken, no page waits, no OCR is pending and no record file is open, closed or ready, twice in a row.
  Values come from the packages (EAD_DOC) when packaged, else from the journal (held record files); the kind's
  label, the confidences and the list of fields below threshold come from the journal. Page roles and the page
  analysis (crop box, angle, orientation, blank) come from the journal (`eval/journal_reader.py`, the only code
  that knows its schema). Page text: the package PDF's text layer (`pdftotext -raw`), else the journal's OCR.
- **Separators** right when the station gave the page the role cover (decoded) or patch. **Record file exactly
  right**: its cover sheet decoded with all five fields equal, all its content pages and no other in it, split
  into the true documents page for page.
- **Crop**: the true sheet and content corners are carried into the station's corrected frame (its angle and
  orientation, design §4); *sheet kept* = area of the sheet inside `crop_box` / sheet area; *content cut* = a
  content corner more than {cut:g} mm outside `crop_box`.
- **Orientation** right when the station's turn makes the content upright (a sideways page needs a 90° turn the
  station does not make today).
- **CER**: Unicode NFC, white space collapsed, case kept; errors = Levenshtein distance; ground truth = the
  printed text of the page (handwritten values are not in it; what an engine reads from them counts as
  insertions); totals summed over pages. *Line order free*: each true line (longest first) is matched to its
  closest stretch of the engine's text and that stretch is used up, leftovers count as insertions. *Reading
  order*: the page's lines joined left column before right, top to bottom. *Intact*: upright as scanned, not
  turned by the station, nothing cut, taken as content.
- **Fields** (documents where a station document starts on the true first page; a document the station merged
  into another has all its fields wrong): type = code equal and, for code 32 (several kinds), the kind named;
  number, notation, date exact; issuing body = the whole body (its own line or lines, with or without the parent
  body's line), case and punctuation aside; subject near = edit distance at most {near} % of the true trích yếu's
  length, "Về việc"/"V/v" aside. *Wrong values above threshold*: non-empty values not flagged for confirmation
  that are wrong, in matched and in spurious documents, over 6 values × documents.
- **Blank**: the page analysis' `blank` flag. **Colour**: components of the page image in the package PDF
  (`pdfimages -list`), else the journal's channel count.
- **Baselines**: see `eval/baselines.py`; the same page images, the same CER code.
"""
