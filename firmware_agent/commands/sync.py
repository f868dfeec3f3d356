"""`sohoa receiver ...` (the central server), `sohoa enroll`, `sohoa keygen`, `sohoa verify-receipt`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

DEFAULT_ROOT = "/var/lib/sohoa-receiver"
DEFAULT_METRICS_PORT = 8471


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    rx = sub.add_parser("receiver", help="the central receiver: serve, mint enrollment tokens, revoke devices")
    acts = rx.add_subparsers(dest="receiver_action", metavar="ACTION", required=True)

    def action(name: str, help_text: str, func):
        p = acts.add_parser(name, help=help_text)
        p.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT), help="receiver state, keys and archive")
        p.set_defaults(func=func)
        return p

    p = action("serve", "serve the tus endpoint /files/ (what sohoa-receiver.service runs)", cmd_serve)
    p.add_argument("--host", default="127.0.0.1", help="bind address (put TLS in a reverse proxy in front)")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--max-size-mib", type=int, default=4096, help="largest batch accepted (MiB)")
    p.add_argument("--origin", default=None, help="log name written in checkpoints")
    p.add_argument("--no-sip-check", action="store_true", help="do not run the SIP_hoso verifier on .zip members")
    p.add_argument("--metrics-host", default="127.0.0.1",
                   help="bind address of the separate /metrics listener (no credentials: keep it on loopback)")
    p.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT,
                   help=f"port of the /metrics listener (default {DEFAULT_METRICS_PORT}; 0 picks a free one)")
    p.add_argument("--header-timeout", type=_seconds, default=20.0,
                   help="seconds from the first byte of a request head to its end (then 408 and close)")
    p.add_argument("--idle-timeout", type=_seconds, default=75.0,
                   help="seconds a connection may wait with no request before it is closed")
    p.add_argument("--body-idle-timeout", type=_seconds, default=60.0,
                   help="seconds a PATCH body may stall (then 408); an /enroll body must arrive within it")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                   help="a reverse proxy whose X-Forwarded-For names the client (repeatable)")
    p = action("token", "mint a one-time enrollment token for DEVICE_ID", cmd_token)
    p.add_argument("device_id")
    p.add_argument("--ttl-hours", type=float, default=24.0)
    p = action("revoke", "revoke an enrolled device", cmd_revoke)
    p.add_argument("device_id")
    action("devices", "list enrolled devices and their chain heads", cmd_devices)
    action("rejections", "list the latest refused batches and requests", cmd_rejections)
    action("keys", "print the archive and log public keys (and fingerprints)", cmd_keys)

    p = sub.add_parser("enroll", help="register this appliance's key with a receiver (one-time token)")
    p.add_argument("--config", default="/etc/sohoa/sohoa.toml")
    p.add_argument("--receiver", help="receiver URL (default: sync.endpoint from the config)")
    p.add_argument("--token", help="one-time token from `sohoa receiver token`")
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


# ---------------------------------------------------------------------- receiver

def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from firmware_agent.records.receiver_check import receiver_member_check
    from sync.keys import load_or_create
    from sync.receiver import ReceiverOptions
    from sync.receiver_app import build_receiver_app, serve_forever

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    member_check = None
    if not args.no_sip_check:
        member_check = receiver_member_check(load_or_create(args.root / "keys" / "archive_x25519.pem", X25519PrivateKey))
    opts = ReceiverOptions(max_size=args.max_size_mib * 1024 * 1024, header_timeout_s=args.header_timeout,
                           idle_timeout_s=args.idle_timeout, body_idle_timeout_s=args.body_idle_timeout,
                           trusted_proxies=tuple(args.trusted_proxy))
    app = build_receiver_app(args.root, member_check=member_check, origin=args.origin, opts=opts)

    def ready(listening) -> None:
        print(f"sohoa receiver: {args.root} on {listening.url}files/, metrics on {listening.metrics_url}",
              file=sys.stderr, flush=True)
    serve_forever(app, args.host, args.port, metrics_host=args.metrics_host, metrics_port=args.metrics_port,
                  on_ready=ready)
    return 0


def _state(root: Path):
    from sync.receiver_state import ReceiverState
    if not (root / "receiver.sqlite3").exists():
        print(f"Không có máy chủ nhận ở {root} / No receiver state in {root} (run `sohoa receiver serve` once)",
              file=sys.stderr)
        return None
    return ReceiverState(root / "receiver.sqlite3")


def cmd_token(args: argparse.Namespace) -> int:
    from sync.canon import DEVICE_ID_RE
    if not DEVICE_ID_RE.fullmatch(args.device_id):
        print("Mã thiết bị không hợp lệ / Invalid device id", file=sys.stderr)
        return 2
    state = _state(args.root)
    if state is None:
        return 1
    token = state.mint_token(args.device_id, ttl_s=args.ttl_hours * 3600)
    print(token)
    print(f"Dùng một lần cho {args.device_id}, hết hạn sau {args.ttl_hours:g} giờ / "
          f"One-time token for {args.device_id}, expires in {args.ttl_hours:g} h", file=sys.stderr)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    state = _state(args.root)
    if state is None:
        return 1
    if not state.revoke(args.device_id):
        print(f"Không có thiết bị {args.device_id} đang hoạt động / No active device {args.device_id}",
              file=sys.stderr)
        return 1
    print(f"Đã thu hồi / Revoked: {args.device_id}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from sync.keys import fingerprint
    state = _state(args.root)
    if state is None:
        return 1
    for d in state.devices():
        flag = "revoked" if d.revoked else "active"
        print(f"{d.device_id}\t{flag}\tkey {fingerprint(d.public_key)}\tlast seq {d.last_seq}\t{d.last_hash[:16]}")
    return 0


def cmd_rejections(args: argparse.Namespace) -> int:
    import datetime as dt
    state = _state(args.root)
    if state is None:
        return 1
    def when(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")
    for r in state.rejections():
        print(f"{when(r['at'])}\t{r['device_id']}\tseq {r['seq']}\t{r['code']}\t{r['detail']}")
    refusals = state.enroll_refusals()
    if refusals:
        print("Đăng ký bị từ chối, theo địa chỉ / Refused enrollments, by client address:")
    for r in refusals:
        print(f"{when(r['last_at'])}\t{r['address']}\tenroll\t{r['attempts']} attempts since "
              f"{when(r['first_at'])}\tlast for {r['last_device'] or '?'}: {r['last_reason']}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.keys import fingerprint, load_or_create, public_b64
    keys = args.root / "keys"
    for label, name, kind in (("archive (X25519)", "archive_x25519.pem", X25519PrivateKey),
                              ("log (Ed25519)", "log_ed25519.pem", Ed25519PrivateKey)):
        pub = public_b64(load_or_create(keys / name, kind))
        print(f"{label}: {pub}  fingerprint {fingerprint(pub)}")
    return 0


# ---------------------------------------------------------------------- appliance

def _config(path: str):
    from firmware_agent.config import ConfigError, load_config
    try:
        return load_config(path if Path(path).exists() else None)
    except ConfigError as exc:
        print(f"Lỗi cấu hình / Config error: {exc}", file=sys.stderr)
        return None


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.keys import fingerprint, load_or_create, public_b64
    cfg = _config(args.config)
    if cfg is None:
        return 2
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
        return 2
    if args.print_auth_header:
        key_path, _, _ = cfg.sync.key_paths(cfg.state_path)
        print(make_auth_header(cfg.agent.device_id, load_or_create(key_path, Ed25519PrivateKey), lifetime_s=3600))
        return 0
    endpoint = args.receiver or cfg.sync.endpoint
    if not endpoint or not args.token:
        print("Cần --receiver (hoặc sync.endpoint) và --token / Need --receiver (or sync.endpoint) and --token",
              file=sys.stderr)
        return 2
    try:
        e = asyncio.run(enroll_device(cfg.sync, cfg.state_path, cfg.agent.device_id, endpoint, args.token))
    except EnrollError as exc:
        print(f"Đăng ký thất bại / Enrollment failed: {exc}", file=sys.stderr)
        return 1
    print(f"Đã đăng ký / Enrolled: {e.device_id} at {endpoint}")
    print(f"  archive key {fingerprint(e.archive_public_key)}, log key {fingerprint(e.log_public_key)} "
          f"({e.log_origin}); compare with `sohoa receiver keys` on the server; next seq {e.next_seq}")
    if not cfg.sync.endpoint:
        print(f"  Đặt sync.endpoint = \"{endpoint}\" trong cấu hình / set sync.endpoint in the config")
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
        print(f"Biên nhận KHÔNG hợp lệ / Receipt INVALID: {exc}", file=sys.stderr)
        return 1
    if args.batch is not None:
        digest, size = file_sha256(args.batch)
        if (digest, size) != (v.sha256, v.size):
            print(f"Tệp lô không khớp biên nhận / Batch file does not match the receipt "
                  f"(sha256 {digest[:16]}…, {size} bytes)", file=sys.stderr)
            return 1
    print(f"Biên nhận hợp lệ / Receipt valid: device {v.device} seq {v.seq} batch {v.batch[:16]}… "
          f"leaf {v.index} of {v.tree_size}, root {v.root[:16]}…")
    return 0
