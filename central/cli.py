"""`sohoa-central`: the central archive's command (receiver nodes, enrollment tokens, devices, keys)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from central.messages import CATALOGUE

DEFAULT_ROOT = "/var/lib/sohoa-central"
DEFAULT_METRICS_PORT = 8471


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sohoa-central",
                                     description="Central archive of the sohoa commune scanning stations.")
    acts = parser.add_subparsers(dest="action", metavar="COMMAND")

    def action(name: str, help_text: str, func):
        p = acts.add_parser(name, help=help_text)
        p.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT), help="receiver state, keys and archive")
        p.set_defaults(func=func)
        return p

    p = action("serve", "serve the tus endpoint /files/ (what sohoa-central.service runs)", cmd_serve)
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
    p.add_argument("--parent-pid", type=int, default=None, metavar="PID",
                   help="stop when process PID, which started this one, ends (the station's demo runs one this way)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                   help="a reverse proxy whose X-Forwarded-For names the client (repeatable)")
    p = action("token", "mint a one-time enrollment token for DEVICE_ID", cmd_token)
    p.add_argument("device_id")
    p.add_argument("--ttl-hours", type=float, default=24.0)
    p = action("revoke", "revoke an enrolled device", cmd_revoke)
    p.add_argument("device_id")
    action("devices", "list enrolled devices and their chain heads", cmd_devices)
    action("rejections", "list the latest refused batches and requests", cmd_rejections)
    p = action("keys", "print the archive and log public keys (and fingerprints), and the archive's age recipient",
               cmd_keys)
    p.add_argument("--age-identity", type=Path, metavar="FILE",
                   help="also write the archive key as an age identity file (mode 0600, never over an existing "
                        "file) for `age -d -i FILE` on sealed batches and .enc packages")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from central.sip_check import receiver_member_check
    from sync.keys import load_or_create
    from central.receiver import ReceiverOptions
    from central.receiver_app import build_receiver_app, serve_forever

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
        if args.parent_pid is not None:
            _stop_with_parent(args.parent_pid)
    serve_forever(app, args.host, args.port, metrics_host=args.metrics_host, metrics_port=args.metrics_port,
                  on_ready=ready)
    return 0


def _stop_with_parent(parent: int) -> None:
    """SIGTERM to this process once *parent* is no longer its parent, even if it was killed -9.

    A demo station killed with -9 must not leave its receiver running on the same folder.
    The parent's pid comes from the command line, not from ``getppid()`` read here: a
    parent killed while this process was still starting has already handed it to init.
    """
    import os
    import signal
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _state(root: Path):
    from central.receiver_state import ReceiverState
    if not (root / "receiver.sqlite3").exists():
        print(CATALOGUE["cli.no_receiver_state"].format(root=root).text, file=sys.stderr)
        return None
    return ReceiverState(root / "receiver.sqlite3")


def cmd_token(args: argparse.Namespace) -> int:
    from sync.canon import DEVICE_ID_RE
    if not DEVICE_ID_RE.fullmatch(args.device_id):
        print(CATALOGUE["cli.invalid_device_id"].text, file=sys.stderr)
        return 2
    state = _state(args.root)
    if state is None:
        return 1
    token = state.mint_token(args.device_id, ttl_s=args.ttl_hours * 3600)
    print(token)
    print(CATALOGUE["cli.token_issued"].format(device=args.device_id, hours=args.ttl_hours).text, file=sys.stderr)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    state = _state(args.root)
    if state is None:
        return 1
    if not state.revoke(args.device_id):
        print(CATALOGUE["cli.no_active_device"].format(device=args.device_id).text, file=sys.stderr)
        return 1
    print(f"{CATALOGUE['cli.revoked'].text}: {args.device_id}")
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
        print(f"{CATALOGUE['cli.enroll_refusals'].text}:")
    for r in refusals:
        print(f"{when(r['last_at'])}\t{r['address']}\tenroll\t{r['attempts']} attempts since "
              f"{when(r['first_at'])}\tlast for {r['last_device'] or '?'}: {r['last_reason']}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    import os

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.age import identity_file, recipient_string
    from sync.keys import fingerprint, load_or_create, public_b64
    keys = args.root / "keys"
    loaded = {}
    for label, name, kind in (("archive (X25519)", "archive_x25519.pem", X25519PrivateKey),
                              ("log (Ed25519)", "log_ed25519.pem", Ed25519PrivateKey)):
        loaded[name] = load_or_create(keys / name, kind)
        pub = public_b64(loaded[name])
        print(f"{label}: {pub}  fingerprint {fingerprint(pub)}")
    archive = loaded["archive_x25519.pem"]
    print(f"archive (age recipient): {recipient_string(archive)}")
    if args.age_identity is not None:
        # O_EXCL: an identity file is a copy of the archive's private key; never
        # replace a file (perhaps another key's) without the operator removing it.
        try:
            fd = os.open(args.age_identity, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            print(CATALOGUE["cli.file_exists"].format(path=args.age_identity).text, file=sys.stderr)
            return 1
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(identity_file(archive))
        print(CATALOGUE["cli.age_identity_written"].format(path=args.age_identity).text, file=sys.stderr)
        print(f"  age -d -i {args.age_identity} BATCH.sohoa | zstd -d > BATCH.plain", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
