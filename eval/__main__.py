"""`python -m eval` (`make eval`): generate the corpus, run the station and the baselines, write EVALUATION.md.

Options: ``--docs N`` or ``--quick`` (a small subset), ``--seed``, ``--keep`` (keep the
station's work folder), ``--no-baselines``, ``--out``, ``--results``, ``--cache``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _machine() -> str:
    cpu = platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU {cpu}, {os.cpu_count()} logical cores; {platform.platform()}; Python {platform.python_version()}"


def _load() -> str:
    try:
        return " ".join(open("/proc/loadavg", encoding="ascii").read().split()[:3])
    except OSError:
        return "?"


def _git() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=ROOT).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval", description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=200, help="documents in the corpus (default 200)")
    ap.add_argument("--quick", action="store_true", help="a small subset (24 documents) for iteration")
    ap.add_argument("--seed", type=int, default=20260701)
    ap.add_argument("--keep", action="store_true", help="keep the station's work folder (state, hot folder, log)")
    ap.add_argument("--no-baselines", action="store_true", help="skip plain tesseract and OCRmyPDF")
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "eval")
    ap.add_argument("--out", type=Path, default=None, help="report file (default EVALUATION.md for a full run, "
                                                           "else under the cache folder)")
    ap.add_argument("--results", type=Path, default=None, help="machine-readable results (default eval/results.json "
                                                               "for a full run, else under the cache folder)")
    ap.add_argument("--ocrmypdf-every", type=int, default=1, help="run OCRmyPDF on every N-th record file's scan "
                                                                  "jobs only (default 1: all)")
    ap.add_argument("--rd-every", type=int, default=4, help="the same for OCRmyPDF --rotate-pages --deskew "
                                                            "(default 4; 0 = not run)")
    ap.add_argument("--workers", type=int, default=2, help="processes that draw the corpus (default 2)")
    ap.add_argument("--rescore", action="store_true", help="score the last run's saved output again (no station "
                                                           "or baseline run)")
    ap.add_argument("--close-after", type=float, default=10.0, help="the station's records.close_after_s")
    ap.add_argument("--baselines-from", type=Path, default=None,
                    help="take plain tesseract's and OCRmyPDF's texts and timings from an earlier run's raw file "
                         "(raw-s<seed>-n<docs>.pickle) on the same corpus instead of running them again: they do "
                         "not depend on the station's code, and they take most of a full run")
    ap.add_argument("--osd", choices=("off", "sideways", "unsure"), default=None,
                    help="the station's [imaging] osd (default: the station's own default)")
    args = ap.parse_args(argv)
    n_docs = 24 if args.quick else args.docs
    full = n_docs >= 200 and not args.no_baselines
    out_md = args.out or (ROOT / "EVALUATION.md" if full else args.cache / f"EVALUATION-{args.seed}-{n_docs}.md")
    out_json = args.results or (ROOT / "eval" / "results.json" if full else
                                args.cache / f"results-{args.seed}-{n_docs}.json")

    from eval import baselines, corpus, report, score
    from eval.render import missing_fonts

    missing = missing_fonts()
    if missing:
        print("eval: fonts missing (make eval installs them): " + ", ".join(missing), file=sys.stderr)
        return 2
    t_start = time.monotonic()
    load_before = _load()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t_start:7.1f}s] {msg}", flush=True)

    command = "python -m eval " + " ".join(argv if argv is not None else sys.argv[1:])
    cdir = args.cache / f"corpus-s{args.seed}-n{n_docs}-v{corpus.GENERATOR_VERSION}"
    if (cdir / "truth.json").exists():
        truth = json.loads((cdir / "truth.json").read_text(encoding="utf-8"))
        log(f"corpus: reusing {cdir}")
    else:
        log(f"corpus: generating {n_docs} documents (seed {args.seed}) into {cdir}")
        truth = corpus.build(args.seed, n_docs, cdir, workers=args.workers, log=log)
    stacks = cdir / "stacks"
    work = args.cache / "run"
    raw_path = args.cache / f"raw-s{args.seed}-n{n_docs}.pickle"
    if args.rescore:
        # score again what an earlier run collected (its station output and baseline texts)
        with open(raw_path, "rb") as fh:
            raw = pickle.load(fh)
        st, bl_texts, thr, meta_extra = raw["station"], raw["baselines"], raw["thr"], raw["meta_extra"]
        load_before = raw.get("load_before", load_before)
        log(f"rescoring {raw_path}")
        if args.baselines_from:  # e.g. the baselines' run had not finished when the station's took them
            bl_texts, thr, meta_extra = _earlier_baselines(args.baselines_from, truth, thr)
            raw["meta_extra"] = meta_extra
            log(f"baselines: taken from {args.baselines_from}")
    else:
        def save(st, bl_texts, thr, meta_extra):
            # after each stage, so a run cut short can still be scored (--rescore)
            with open(raw_path.with_suffix(".tmp"), "wb") as fh:
                pickle.dump({"station": st, "baselines": bl_texts, "thr": thr, "meta_extra": meta_extra,
                             "load_before": load_before, "elapsed_min": (time.monotonic() - t_start) / 60,
                             "command": command, "load_after": _load()}, fh)
            os.replace(raw_path.with_suffix(".tmp"), raw_path)

        st, bl_texts, thr, meta_extra = _measure(args, truth, stacks, work, log, save)
        raw = {}
    log("scoring")
    res = score.score(truth, st, bl_texts)
    s = res["summary"]
    roles = [p["role"] for p in truth["pages"]]
    meta = {"command": command,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "git": _git(),
            "seed": args.seed, "record_files": len(truth["record_files"]), "documents": len(truth["documents"]),
            "pages": len(roles), "content_pages": roles.count("content"), "covers": roles.count("cover"),
            "patches": roles.count("patch"), "blanks": roles.count("blank"), "close_after_s": args.close_after,
            "osd": args.osd or "station default",
            "machine": _machine(), "load_before": load_before, "load_after": _load(),
            "versions": baselines.versions(), "rejected_files": st["rejected"],
            "run_minutes": (time.monotonic() - t_start) / 60, **meta_extra}
    if args.rescore:  # the run that measured, not this one
        meta["run_minutes"] = raw.get("elapsed_min", 0.0) + meta["run_minutes"]
        me = raw.get("meta_extra", {})
        measured = raw.get("command") or ("python -m eval" + (f" --ocrmypdf-every {me['ocrmypdf_every']}"
                                                              if me.get("ocrmypdf_every", 1) != 1 else "")
                                          + ("" if "rd_every" in me else " --rd-every 0"))
        meta["command"] = measured + ", scored again with --rescore"
        meta["load_after"] = raw.get("load_after", meta["load_after"])
    report.write(out_md, s, meta, thr, res["record_files"])
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps({"meta": meta, "throughput": thr, "summary": s, "record_files": res["record_files"],
                                    "documents": res["documents"], "spurious_documents": res["spurious_documents"],
                                    "pages": res["pages"]}, ensure_ascii=False, indent=1, default=_json_default),
                        encoding="utf-8")
    if not args.keep and not args.rescore:  # a rescore leaves the measuring run's kept folder alone
        shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {out_md} and {out_json}")
    return 0


def _measure(args, truth: dict, stacks: Path, work: Path, log, save) -> tuple:
    """Run the station, then the baselines, on the corpus; returns (station output, texts, timings, extra)."""
    from eval import baselines, station

    t0 = time.monotonic()
    log(f"station: {len(truth['pages'])} pages in {len(truth['stack_files'])} files")
    loads = {"station": _load()}
    st = station.run(stacks, work, close_after_s=args.close_after, osd=args.osd, log=log)
    log(f"station: done in {st['seconds']:.0f} s")
    bl_texts: dict[str, dict] = {}
    thr = {"station_s": st["seconds"], "station_ppm": len(truth["pages"]) * 60.0 / st["seconds"], "loads": loads}
    meta_extra: dict = {}
    save(st, bl_texts, thr, meta_extra)
    if args.baselines_from:
        bl_texts, thr, meta_extra = _earlier_baselines(args.baselines_from, truth, thr)
        log(f"baselines: taken from {args.baselines_from} ({meta_extra['baselines_from']['command']})")
    elif not args.no_baselines:
        loads["tesseract"] = _load()
        texts, secs = baselines.tesseract(stacks, truth, log=log)
        bl_texts["tesseract"], thr["tesseract_s"] = texts, secs
        log(f"tesseract: done in {secs:.0f} s")
        save(st, bl_texts, thr, meta_extra)
        loads["ocrmypdf"] = _load()
        texts, secs, failed = baselines.ocrmypdf(stacks, truth, every=args.ocrmypdf_every, log=log)
        bl_texts["ocrmypdf"], thr["ocrmypdf_s"] = texts, secs
        thr["ocrmypdf_pages"] = sum(1 for p in truth["pages"] if p["record_file"] % args.ocrmypdf_every == 0)
        thr["ocrmypdf_ppm"] = thr["ocrmypdf_pages"] * 60.0 / secs if secs else None
        meta_extra["ocrmypdf_every"] = args.ocrmypdf_every
        meta_extra["ocrmypdf_failed"] = len(failed)
        meta_extra["ocrmypdf_failures"] = failed
        log(f"ocrmypdf: done in {secs:.0f} s ({len(failed)} jobs failed)")
        save(st, bl_texts, thr, meta_extra)
        if args.rd_every:
            texts, secs, failed_rd = baselines.ocrmypdf(stacks, truth, extra=("--rotate-pages", "--deskew"),
                                                        every=args.rd_every, log=log)
            bl_texts["ocrmypdf_rd"], thr["ocrmypdf_rd_s"] = texts, secs
            meta_extra["rd_every"] = args.rd_every
            meta_extra["ocrmypdf_rd_failed"] = len(failed_rd)
            meta_extra["ocrmypdf_failures"] += failed_rd
            log(f"ocrmypdf --rotate-pages --deskew: done in {secs:.0f} s ({len(failed_rd)} jobs failed)")
    meta_extra["measure_minutes"] = (time.monotonic() - t0) / 60
    save(st, bl_texts, thr, meta_extra)
    return st, bl_texts, thr, meta_extra


def _earlier_baselines(raw_path: Path, truth: dict, thr: dict) -> tuple[dict, dict, dict]:
    """The baselines of an earlier run on the same corpus: its texts, its timings and how it was run.

    Every page the texts name must be a page of this corpus, or they would be scored against other
    pages; the station's own timing stays this run's.
    """
    with open(raw_path, "rb") as fh:
        raw = pickle.load(fh)
    if not raw.get("baselines"):
        raise SystemExit(f"eval: {raw_path} holds no baseline texts")
    ours = {p["id"] for p in truth["pages"]}
    missing = [pid for texts in raw["baselines"].values() for pid in texts if pid not in ours]
    if missing:
        raise SystemExit(f"eval: {raw_path} was measured on another corpus ({len(missing)} pages unknown here)")
    new_thr = dict(thr)
    for key, value in raw["thr"].items():
        if key.startswith(("tesseract", "ocrmypdf")):
            new_thr[key] = value
    new_thr["loads"] = {**thr.get("loads", {}),
                        **{k: v for k, v in raw["thr"].get("loads", {}).items() if k != "station"}}
    extra = {k: v for k, v in raw["meta_extra"].items() if k != "measure_minutes"}
    extra["baselines_from"] = {"file": str(raw_path), "command": raw.get("command", "?"),
                               "station_ppm": raw["thr"].get("station_ppm"),
                               "station_load": raw["thr"].get("loads", {}).get("station")}
    return dict(raw["baselines"]), new_thr, extra


if __name__ == "__main__":
    sys.exit(main())
