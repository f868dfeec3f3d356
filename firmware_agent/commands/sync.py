"""`sohoa enroll`, `sohoa keygen`, `sohoa verify-receipt`, and the old spelling `sohoa receiver ...`.

The central server has its own command, `sohoa-central`, in the `central`
package (which the station never imports); `sohoa receiver ...` hands over
to it for one release, saying where it moved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    rx = sub.add_parser("receiver", help="moved: the central server is now `sohoa-central`",
                        description="Moved to `sohoa-central` (same actions and options); kept for one release.")
    rx.add_argument("rest", nargs=argparse.REMAINDER, help="what `sohoa-central` takes")
    rx.set_defaults(func=cmd_receiver_moved)

    p = sub.add_parser("enroll", help="register this appliance's key with a receiver (one-time token)")
    p.add_argument("--config", default="/etc/sohoa/sohoa.toml")
    p.add_argument("--receiver", help="receiver URL (default: sync.endpoint from the config)")
    p.add_argument("--token", help="one-time token from `sohoa-central token`")
    p.add_argument("--print-auth-header", action="store_true",
                   help="only print an Authorization header (1 h) for a third-party tus client")
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("keygen", help="create this appliance's device key if missing and print its public key")
    p.add_argument("--config", default="/etc/sohoa/sohoa.toml")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("verify-receipt", help="check a batch receipt offline")
    p.add_argument("receipt", type=Path, help="receipt JSON file")
    p.add_argument("--log-key", required=True, help="receiver log public key: a .pub file or the base64 text")
    p.add_argument("--batch", type=Path, help="the sealed batch file, to check its hash and size too")
    p.set_defaults(func=cmd_verify_receipt)


def cmd_receiver_moved(args: argparse.Namespace) -> int:
    """Run `sohoa-central` with the same arguments (a new process: the station never imports `central`)."""
    import os
    import shutil

    print(CATALOGUE["cli.receiver_moved"].text, file=sys.stderr)
    exe = shutil.which("sohoa-central") or str(Path(sys.executable).with_name("sohoa-central"))
    if not Path(exe).exists():
        print(CATALOGUE["cli.central_not_installed"].text, file=sys.stderr)
        return exit_codes.FAILURE
    os.execv(exe, [exe, *args.rest])
    return 0  # not reached: execv replaces this process


# ---------------------------------------------------------------------- appliance

def _config(path: str):
    from firmware_agent.config import ConfigError, load_config
    try:
        return load_config(path if Path(path).exists() else None)
    except ConfigError as exc:
        print(f"{CATALOGUE['cli.config_error'].text}: {exc}", file=sys.stderr)
        return None


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.keys import fingerprint, load_or_create, public_b64
    cfg = _config(args.config)
    if cfg is None:
        return exit_codes.CONFIG
    key_path, _, _ = cfg.sync.key_paths(cfg.state_path)
    pub = public_b64(load_or_create(key_path, Ed25519PrivateKey))
    print(f"{cfg.agent.device_id}: {pub}  fingerprint {fingerprint(pub)}  ({key_path})")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from firmware_agent.sync_enrollment import enroll_device
    from sync.auth import make_auth_header
    from sync.enroll import EnrollError
    from sync.keys import fingerprint, load_or_create

    cfg = _config(args.config)
    if cfg is None:
        return exit_codes.CONFIG
    if args.print_auth_header:
        key_path, _, _ = cfg.sync.key_paths(cfg.state_path)
        print(make_auth_header(cfg.agent.device_id, load_or_create(key_path, Ed25519PrivateKey), lifetime_s=3600))
        return 0
    endpoint = args.receiver or cfg.sync.endpoint
    if not endpoint or not args.token:
        print(CATALOGUE["cli.enroll.need_receiver"].text, file=sys.stderr)
        return exit_codes.USAGE
    try:
        e = asyncio.run(enroll_device(cfg.sync, cfg.state_path, cfg.agent.device_id, endpoint, args.token))
    except EnrollError as exc:
        print(f"{CATALOGUE['cli.enroll.failed'].text}: {exc}", file=sys.stderr)
        return 1
    print(f"{CATALOGUE['cli.enroll.done'].text}: {e.device_id} at {endpoint}")
    print(f"  archive key {fingerprint(e.archive_public_key)}, log key {fingerprint(e.log_public_key)} "
          f"({e.log_origin}); compare with `sohoa-central keys` on the server; next seq {e.next_seq}")
    if not cfg.sync.endpoint:
        print(f"  {CATALOGUE['cli.enroll.set_endpoint'].format(endpoint=endpoint).text}")
    return 0


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    from sync.batch import file_sha256
    from sync.keys import ed25519_public
    from sync.receipt import ReceiptError, verify_receipt

    key_text = Path(args.log_key).read_text("ascii") if Path(args.log_key).exists() else args.log_key
    try:
        receipt = json.loads(args.receipt.read_text("utf-8"))
        v = verify_receipt(receipt, ed25519_public(key_text))
    except (OSError, ValueError, ReceiptError) as exc:
        print(f"{CATALOGUE['cli.receipt.invalid'].text}: {exc}", file=sys.stderr)
        return 1
    if args.batch is not None:
        digest, size = file_sha256(args.batch)
        if (digest, size) != (v.sha256, v.size):
            print(f"{CATALOGUE['cli.receipt.batch_mismatch'].text} (sha256 {digest[:16]}…, {size} bytes)",
                  file=sys.stderr)
            return 1
    print(f"{CATALOGUE['cli.receipt.valid'].text}: device {v.device} seq {v.seq} batch {v.batch[:16]}… "
          f"leaf {v.index} of {v.tree_size}, root {v.root[:16]}…")
    return 0
