"""`python -m eval.calibrate`: fit the field-confidence model on a kept station run, or report on one.

The station's OCR of every first page is in the journal of a run kept with
``python -m eval --keep`` (``.cache/eval/run``; copy it aside per seed). This
tool runs today's field extraction (``records.metadata``) on those OCR results
offline, labels each value right or wrong against the corpus truth (the same
rules as ``eval.score.field_right``), and

- ``fit``: fits the logistic model of each field (``records.confidence``) and the
  threshold at which 99 % of the values above it are right, and writes
  ``records/confidence.json``. Fit on one seed, report on another: the
  thresholds must not be fitted to the corpus ``EVALUATION.md`` reports on.
- ``report``: prints, per field, how many values are right, how many pass their
  threshold and how many of those are right, with the model shipped now.
- ``fit --holdout``: fits on every other document (by id) and reports on the
  others, which the fit never saw; the measured calibration ``docs/`` publishes.

Documents are taken at their true first page, so a separation error of the run
does not hide an extraction error (the evaluation proper scores both).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_pages(corpus: Path, state: Path) -> list[tuple[dict, dict | None]]:
    """(true document, OCR JSON of the station's page for its first page or None) for every document.

    A run kept before the station read the number's line twice (design §6.3 L3a) has no
    second read in its OCR: it is made here from the page's kept bitonal image, as the
    station makes it, so that today's extraction is replayed whole.
    """
    from records.ocr import OcrResult
    from records.reread import reread_header

    truth = json.loads((corpus / "truth.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(f"file:{state / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        jobs = {r[0]: r[1] for r in db.execute("SELECT id, source FROM jobs")}
        loc, bitonal = {}, {}
        for pid, job, seq, path in db.execute("SELECT id, job_id, seq, bitonal_path FROM pages"):
            src = jobs.get(job, "")
            name = src.partition(":")[2].rpartition("#")[0]
            loc[(name, seq)] = pid
            bitonal[pid] = state / path if path else None
        ocr = {r[0]: json.loads(r[1]) for r in db.execute("SELECT page_id, result FROM rec_ocr WHERE result!=''")}
    finally:
        db.close()
    pages = {p["id"]: p for p in truth["pages"]}
    out = []
    for d in truth["documents"]:
        tp = pages[d["page_ids"][0]]
        pid = loc.get((tp["file"], tp["index_in_file"]))
        data = ocr.get(pid)
        if data is not None and "reread" not in data and bitonal.get(pid) is not None and bitonal[pid].exists():
            data = reread_header(bitonal[pid], OcrResult.from_json(data), niceness=0).to_json()
        out.append((d, data))
    return out


def samples(corpus: Path, state: Path) -> list[dict]:
    """One row per document whose first page the run read: extracted values, features, right or not."""
    from eval.score import field_right
    from records.classify import load_rules
    from records.metadata import FIELDS, extract
    from records.ocr import OcrResult

    rules = load_rules()
    rows = []
    for d, data in first_pages(corpus, state):
        if data is None:
            continue  # no OCR of its first page in the run (not reached, or failed): nothing to label
        ext = extract(OcrResult.from_json(data), rules)
        row = {"corpus": corpus.name, "doc": d["id"], "kind": d["kind"], "fields": {}}
        for name in FIELDS:
            value = ext.values.get(name, "")
            right = field_right(name, d, value, ext.values.get("label", ""))
            row["fields"][name] = {"value": value, "right": right, "features": ext.features.get(name, {})}
        rows.append(row)
    return rows


def fit(rows: list[dict], precision: float = 0.99, minimum: float = 0.9) -> dict:
    from records.confidence import VERSION, fit_logistic, score, threshold_for
    from records.metadata import FIELDS

    fields = {}
    for name in FIELDS:
        found = [r["fields"][name] for r in rows if r["fields"][name]["features"].get("found")]
        empty = [r["fields"][name] for r in rows if not r["fields"][name]["features"].get("found")]
        bias, weights = fit_logistic([f["features"] for f in found], [f["right"] for f in found])
        m = {"bias": round(bias, 4), "weights": {k: round(v, 4) for k, v in weights.items()}}
        if empty and any(f["right"] for f in empty):
            eb, ew = fit_logistic([f["features"] for f in empty], [f["right"] for f in empty])
            m["empty_bias"], m["empty_weights"] = round(eb, 4), {k: round(v, 4) for k, v in ew.items()}
        confs = [score(name, f["features"], {name: m}) for f in found + empty]
        # never below *minimum*: a value the model itself gives less than that is not let through on
        # the strength of the many sure values above it (thresholds of 0.72 let wrong bodies pass)
        m["threshold"] = threshold_for(confs, [f["right"] for f in found + empty], precision, minimum)
        m["fitted_on"] = {"values": len(found), "right": sum(f["right"] for f in found),
                          "empty": len(empty), "empty_right": sum(f["right"] for f in empty)}
        fields[name] = m
    return {"version": VERSION, "fields": fields}


def report(rows: list[dict], fitted: dict | None = None, out=sys.stdout) -> dict:
    from records.confidence import default_thresholds, score
    from records.metadata import FIELDS

    thresholds = {k: v["threshold"] for k, v in fitted["fields"].items()} if fitted else default_thresholds()
    model = fitted["fields"] if fitted else None
    summary = {}
    for name in FIELDS:
        fs = [r["fields"][name] for r in rows]
        confs = [score(name, f["features"], model) for f in fs]
        passed = [(f, c) for f, c in zip(fs, confs) if c >= thresholds[name]]
        wrong = [f for f, _c in passed if not f["right"] and f["value"]]
        summary[name] = {"right": sum(f["right"] for f in fs), "of": len(fs), "passed": len(passed),
                         "passed_right": sum(f["right"] for f, _c in passed), "passed_wrong_nonempty": len(wrong)}
        print(f"{name:13s} right {summary[name]['right']:4d}/{len(fs):4d}  passed {len(passed):4d} "
              f"(right {summary[name]['passed_right']}, wrong non-empty {len(wrong)})  threshold "
              f"{thresholds[name]}", file=out)
    return summary


BINS = (0.0, 0.5, 0.8, 0.9, 0.95, 1.0001)


def reliability(rows: list[dict], fitted: dict | None = None, out=sys.stdout) -> None:
    """A Markdown table: per field and confidence bin, right / values (non-empty values only)."""
    from records.confidence import score
    from records.metadata import FIELDS

    model = fitted["fields"] if fitted else None
    heads = [f"{lo:.2f}–{min(hi, 1.0):.2f}" for lo, hi in zip(BINS, BINS[1:])]
    print("| field | " + " | ".join(heads) + " |", file=out)
    print("|---" * (len(heads) + 1) + "|", file=out)
    for name in FIELDS:
        cells = []
        for lo, hi in zip(BINS, BINS[1:]):
            fs = [f for r in rows for f in [r["fields"][name]] if f["value"]
                  and lo <= score(name, f["features"], model) < hi]
            cells.append(f"{sum(f['right'] for f in fs)}/{len(fs)}" if fs else "–")
        print(f"| {name} | " + " | ".join(cells) + " |", file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("fit", "report", "dump"))
    ap.add_argument("--corpus", type=Path, required=True, action="append",
                    help="corpus folder (with truth.json); repeat with --state for several runs")
    ap.add_argument("--state", type=Path, required=True, action="append",
                    help="the kept run's state folder (journal.sqlite3), one per --corpus")
    ap.add_argument("--out", type=Path, default=ROOT / "records" / "confidence.json")
    ap.add_argument("--precision", type=float, default=0.99)
    ap.add_argument("--minimum", type=float, default=0.9, help="the lowest threshold allowed (default 0.9)")
    ap.add_argument("--holdout", action="store_true", help="fit on half the documents, report on the other half")
    args = ap.parse_args(argv)
    if len(args.corpus) != len(args.state):
        ap.error("give one --state per --corpus")
    rows = [r for corpus, state in zip(args.corpus, args.state) for r in samples(corpus, state)]
    print(f"{len(rows)} documents with their first page read", file=sys.stderr)
    if args.action == "dump":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        return 0
    if args.action == "report":
        report(rows)
        reliability(rows)
        return 0
    rows.sort(key=lambda r: (r["corpus"], r["doc"]))
    fit_rows, held_out = (rows[0::2], rows[1::2]) if args.holdout else (rows, [])
    fitted = fit(fit_rows, args.precision, args.minimum)
    fitted["fitted_on"] = {"corpus": [c.name for c in args.corpus], "documents": len(fit_rows),
                           "precision": args.precision, "minimum": args.minimum,
                           "holdout": len(held_out)}
    args.out.write_text(json.dumps(fitted, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("fitted on:")
    report(fit_rows, fitted)
    if held_out:
        print("held out (never seen by the fit):")
        report(held_out, fitted)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
