"""`sohoa coversheet`, `sohoa sip verify|build`, `sohoa records demo-stack`.

Cover sheets are printed before scanning; `sip verify` is the same check the
receiver runs; `records demo-stack` writes the generated Vietnamese pages the
demo feeds through the hot folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("coversheet", help="print record-file cover sheets (A4 PDF with QR code)")
    p.add_argument("--file-code", required=True, help="fileCode, e.g. H49.64.33.2001.160")
    p.add_argument("--paper-file-code", required=True, help="paperFileCode: archive.storage/shelf/box.file")
    p.add_argument("--title", required=True, help="record file title (Vietnamese)")
    p.add_argument("--maintenance", default="01", help="retention code 01..07 (01 = permanent)")
    p.add_argument("--mode", default="01", help="access code 01 public, 02 conditional, 03 secret")
    p.add_argument("--note", default="", help="operator's batch note, printed and kept in the package")
    p.add_argument("--patch", type=int, default=0, help="also print this many PATCHT document separators")
    p.add_argument("--dpi", type=int, default=200)
    p.add_argument("-o", "--output", type=Path, required=True, help="PDF file to write")
    p.set_defaults(func=cmd_coversheet)

    s = sub.add_parser("sip", help="SIP_hoso packages: verify or build")
    ssub = s.add_subparsers(dest="sip_command", metavar="ACTION")
    v = ssub.add_parser("verify", help="check a package (zip or folder); exit 1 naming each problem")
    v.add_argument("path", type=Path)
    v.set_defaults(func=cmd_sip_verify)
    b = ssub.add_parser("build", help="build a package from JPEG pages (one document per --doc)")
    b.add_argument("--file-code", required=True)
    b.add_argument("--paper-file-code", required=True)
    b.add_argument("--title", required=True)
    b.add_argument("--maintenance", default="01")
    b.add_argument("--agency", default="H49.64.33")
    b.add_argument("--dpi", type=int, default=200)
    b.add_argument("--doc", action="append", nargs="+", type=Path, required=True, metavar="JPEG",
                   help="pages of one document (repeat for each document)")
    b.add_argument("--languages", default="vie")
    b.add_argument("-o", "--output", type=Path, required=True)
    b.set_defaults(func=cmd_sip_build)
    s.set_defaults(func=lambda a: (s.print_help(), 2)[1])

    r = sub.add_parser("records", help="records tools")
    rsub = r.add_subparsers(dest="records_command", metavar="ACTION")
    d = rsub.add_parser("demo-stack", help="write the generated Vietnamese demo pages (with cover sheets)")
    d.add_argument("dest", type=Path)
    d.add_argument("--dpi", type=int, default=200)
    d.set_defaults(func=cmd_demo_stack)
    r.set_defaults(func=lambda a: (r.print_help(), 2)[1])


def cmd_coversheet(args: argparse.Namespace) -> int:
    from records.coversheet import CoverSheet, CoverSheetError, sheets_pdf

    try:
        sheet = CoverSheet(args.file_code, args.paper_file_code, args.title, args.maintenance, args.mode, args.note)
    except CoverSheetError as exc:
        print(f"{CATALOGUE['cli.records.invalid_cover_sheet'].text}: {exc}", file=sys.stderr)
        return exit_codes.USAGE  # the fields given on the command line
    args.output.write_bytes(sheets_pdf([sheet], dpi=args.dpi, patch=args.patch))
    print(args.output)
    return 0


def cmd_sip_verify(args: argparse.Namespace) -> int:
    from records.sip_verify import verify

    if not args.path.exists():
        print(f"{args.path}: {CATALOGUE['cli.records.does_not_exist'].text}", file=sys.stderr)
        return exit_codes.FAILURE
    problems = verify(args.path)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(CATALOGUE["cli.records.package_invalid"].format(n=len(problems)).text, file=sys.stderr)
        return 1
    print(f"{args.path}: {CATALOGUE['cli.records.valid'].text}")
    return 0


def cmd_sip_build(args: argparse.Namespace) -> int:
    import tempfile

    from records.classify import load_rules
    from records.ocr import OcrError, bitonal_copy, run_tesseract
    from records.package import DocPages, analyse, build_package
    from records.pdfa import PageInput

    rules = load_rules()
    docs, values = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seq, paths in enumerate(args.doc, 1):
            pages = []
            for path in paths:
                try:
                    bw = bitonal_copy(path, Path(tmp) / f"{seq}-{len(pages)}.png", args.dpi)
                    ocr = run_tesseract(bw, dpi=args.dpi, languages=args.languages)
                except OcrError as exc:
                    print(f"OCR: {exc}", file=sys.stderr)
                    return 1
                pages.append(PageInput(path, args.dpi, ocr))
            v, _conf, needs = analyse(pages[0].ocr, rules, {})
            docs.append(DocPages(seq, pages))
            values.append(v)
        cover = {"file_code": args.file_code, "paper_file_code": args.paper_file_code, "title": args.title,
                 "maintenance": args.maintenance, "mode": "01", "note": ""}
        path, folder, _n = build_package(file_id=0, cover=cover, docs=docs, doc_values=values, agency=args.agency,
                                         out_dir=Path(tmp) / "out", work_dir=Path(tmp) / "work", recipient_key=None)
        path.replace(args.output)
    print(f"{args.output} ({folder})")
    return 0


def cmd_demo_stack(args: argparse.Namespace) -> int:
    from firmware_agent.records.samples import write_demo_stack

    for path in write_demo_stack(args.dest, dpi=args.dpi):
        print(path)
    return 0
