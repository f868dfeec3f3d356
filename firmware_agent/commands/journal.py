"""`sohoa journal check`: the batch audit of design 2.1 on demand."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("journal", help="the appliance's journal: check that no package was lost")
    jsub = p.add_subparsers(dest="journal_action", metavar="ACTION", required=True)
    c = jsub.add_parser("check", help="prove every packaged record file is in exactly one batch, every sealed "
                                      "batch carries exactly its members and every receipt verifies; repair what "
                                      "is safe (exit 1 while anything needs a technician)")
    where = c.add_mutually_exclusive_group()
    where.add_argument("--config", default="/etc/sohoa/sohoa.toml", help="TOML config file (for the state folder)")
    where.add_argument("--state-dir", type=Path, help="the state folder itself (the demo's, say)")
    c.add_argument("--device-id", help="device id the receipts must name (default: from the config)")
    c.add_argument("--no-repair", action="store_true", help="only report, change nothing")
    c.add_argument("--json", action="store_true", help="print the report as one JSON object")
    c.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from firmware_agent.config import ConfigError, load_config
    from firmware_agent.journal import Journal
    from firmware_agent.journal_audit import audit
    from firmware_agent.state_lock import StateInUse, StateLock
    from sync.keys import ed25519_public, read_public

    try:
        if args.state_dir is not None:
            cfg = load_config(None, {"agent": {"state_dir": str(args.state_dir)}})
        else:
            cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"{CATALOGUE['cli.config_error'].text}: {exc}", file=sys.stderr)
        return exit_codes.CONFIG
    state = cfg.state_path
    if not (state / "journal.sqlite3").exists():
        print(CATALOGUE["cli.journal.no_journal"].format(state=state).text, file=sys.stderr)
        return exit_codes.FAILURE
    device_id = args.device_id or cfg.agent.device_id
    lock = StateLock(state)
    repair = not args.no_repair
    try:
        lock.acquire()
    except StateInUse:
        # The running agent audits at its own start; a second writer must not repair under it.
        print(CATALOGUE["cli.journal.agent_running"].text, file=sys.stderr)
        lock, repair = None, False
    try:
        log_path = cfg.sync.key_paths(state)[2]
        log_public = ed25519_public(read_public(log_path)) if log_path.exists() else None
        journal = Journal(state)
        try:
            report = audit(journal, device_id=device_id, log_public=log_public, repair=repair, hash_files=True)
        finally:
            journal.close()
    finally:
        if lock is not None:
            lock.release()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        checked = report.checked
        print(f"{CATALOGUE['cli.journal.checked'].text}: "
              f"{checked.get('records_packaged', 0)} {CATALOGUE['cli.journal.packaged_files'].text}, "
              f"{checked.get('batches_unsealed', 0) + checked.get('batches_sealed', 0)} "
              f"{CATALOGUE['cli.journal.batches'].text}, "
              f"{checked.get('receipts', 0)} {CATALOGUE['cli.journal.receipts'].text}")
        for f in report.findings:
            mark = CATALOGUE["cli.journal.repaired"] if f.repaired else CATALOGUE["cli.journal.needs_action"]
            print(f"- [{mark.text}] {f.vi} / {f.en}")
        if not report.findings:
            print(CATALOGUE["cli.journal.no_problems"].text)
    return 0 if report.ok else 1

