"""`sohoa-central`: the central archive's command (receiver nodes, enrollment tokens, devices, keys)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from central.messages import CATALOGUE
from central.web.cli_web import register as register_web

DEFAULT_ROOT = "/var/lib/sohoa-central"
DEFAULT_METRICS_PORT = 8471


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _date(text: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sohoa-central",
                                     description="Central archive of the sohoa commune scanning stations.")
    acts = parser.add_subparsers(dest="action", metavar="COMMAND")

    def action(name: str, help_text: str, func):
        p = acts.add_parser(name, help=help_text)
        p.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT), help="receiver state, keys and archive")
        p.add_argument("--config", type=Path, default=None,
                       help="central configuration (TOML, design 5.12): backends, keys, receiver options")
        p.set_defaults(func=func)
        return p

    # Receiver options default to None: given ones win over the configuration file, the rest come from it.
    p = action("serve", "serve the tus endpoint /files/ (what sohoa-central.service runs)", cmd_serve)
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1; TLS in a proxy in front)")
    p.add_argument("--port", type=int, default=None, help="default 8470")
    p.add_argument("--max-size-mib", type=int, default=None, help="largest batch accepted (MiB, default 4096)")
    p.add_argument("--origin", default=None, help="log name written in checkpoints")
    p.add_argument("--no-sip-check", action="store_true", help="do not run the SIP_hoso verifier on .zip members")
    p.add_argument("--metrics-host", default=None,
                   help="bind address of the separate /metrics listener (default 127.0.0.1; no credentials: "
                        "keep it on loopback)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help=f"port of the /metrics listener (default {DEFAULT_METRICS_PORT}; 0 picks a free one)")
    p.add_argument("--header-timeout", type=_seconds, default=None,
                   help="seconds from the first byte of a request head to its end (then 408 and close; default 20)")
    p.add_argument("--idle-timeout", type=_seconds, default=None,
                   help="seconds a connection may wait with no request before it is closed (default 75)")
    p.add_argument("--body-idle-timeout", type=_seconds, default=None,
                   help="seconds a PATCH body may stall (then 408); an /enroll body must arrive within it "
                        "(default 60)")
    p.add_argument("--parent-pid", type=int, default=None, metavar="PID",
                   help="stop when process PID, which started this one, ends (the station's demo runs one this way)")
    p.add_argument("--trusted-proxy", action="append", default=None, metavar="ADDRESS",
                   help="a reverse proxy whose X-Forwarded-For names the client (repeatable)")
    p = action("replicate", "copy every accepted batch and package to the replica store and read it back "
               "(design 5.14)", cmd_replicate)
    p.add_argument("--once", action="store_true", help="copy what is due and exit (75 if some object is not "
                   "preserved yet)")
    p.add_argument("--interval", type=_seconds, default=1.0, help="seconds between rounds when running on")
    p = action("audit", "re-read both copies of every object, compare their SHA-256 with the log and the "
               "catalogue, repair a bad copy from the good one (design 5.14)", cmd_audit)
    p.add_argument("--rate", type=_seconds, default=None, metavar="OBJECTS_PER_S",
                   help="objects read per second (default: [audit] rate_objects_per_s, 2)")
    p.add_argument("--continuous", action="store_true", help="run passes back to back until stopped")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="audit at most N objects; the next run continues the pass")
    p = action("demo", "run a central archive on this machine: stations, ingest, then the staff web until Ctrl-C "
               "(SQLite and files); with --once PostgreSQL, two S3 stores, two nodes, export, audit (design 5.14)",
               cmd_demo)
    p.add_argument("--once", action="store_true", help="run the scenario once and print its JSON summary last "
                   "(without it: SQLite and files, stations, ingest, then the staff web until Ctrl-C)")
    p.add_argument("--port", type=int, default=None, help="staff web port without --once (default 8472; 0: any free)")
    p.add_argument("--stations", type=int, default=3, help="simulated stations (default 3)")
    p.add_argument("--batches", type=int, default=2, help="batches per station (default 2)")
    p.add_argument("--state-url", default=None, help="use this PostgreSQL instead of starting one")
    p.add_argument("--s3-endpoint", default=None, help="primary S3 endpoint instead of starting SeaweedFS")
    p.add_argument("--replica-endpoint", default=None, help="replica S3 endpoint instead of starting SeaweedFS")
    p.add_argument("--out", type=Path, default=None, help="folder for the exported packages (default: a new one "
                   "under the temporary folder, kept)")
    action("migrate", "apply the state database's missing schema migrations and create missing keys", cmd_migrate)
    p = action("token", "mint a one-time enrollment token for DEVICE_ID", cmd_token)
    p.add_argument("device_id")
    p.add_argument("--ttl-hours", type=float, default=24.0)
    p = action("revoke", "revoke an enrolled device", cmd_revoke)
    p.add_argument("device_id")
    action("devices", "list enrolled devices and their chain heads", cmd_devices)
    action("rejections", "list the latest refused batches and requests", cmd_rejections)
    p = action("ingest", "ingest accepted batches into objects and the catalogue (design 5.13); runs until stopped",
               cmd_ingest)
    p.add_argument("--once", action="store_true", help="stop when nothing is left to claim; print totals as JSON")
    p.add_argument("--lease-s", type=_seconds, default=60.0,
                   help="seconds a claimed batch stays this worker's without renewal (renewed every third)")
    p.add_argument("--poll-s", type=_seconds, default=2.0, help="pause when the queue is empty or a backend is down")
    p.add_argument("--retry-failed", action="store_true", help="queue the failed batches again, then ingest")
    p.add_argument("--status", action="store_true", help="print the queue's counts and failures, ingest nothing")
    p.add_argument("--metrics-host", default="127.0.0.1",
                   help="bind address of this worker's /metrics listener (no credentials: keep it on loopback)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="serve this worker's /metrics on this port (0 picks a free one; default: no listener)")
    p = action("sweep", "delete what batches that were never accepted left in the store (multipart uploads, "
               "incomplete parts, unaccepted objects, upload files) that no row names; never an accepted "
               "batch's (design 5.12)", cmd_sweep)
    p.add_argument("--older-than-hours", type=_seconds, default=24.0, metavar="HOURS",
                   help="only what is older than this (default 24: nothing in flight is that old)")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p = action("export", "write catalogued SIP_hoso packages as the station built them, each checked", cmd_export)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--file-code", help="every package of this record file (fileCode)")
    which.add_argument("--batch", metavar="DEVICE/SEQ", help="every package of one batch")
    which.add_argument("--since", metavar="DATE", type=_date,
                       help="every package of the batches received on or after DATE (YYYY-MM-DD, UTC)")
    p.add_argument("--out", type=Path, required=True, help="folder to write the zips into")
    p = action("keys", "print the archive and log public keys (and fingerprints), and the archive's age recipient",
               cmd_keys)
    p.add_argument("--age-identity", type=Path, metavar="FILE",
                   help="also write the archive key as an age identity file (mode 0600, never over an existing "
                        "file) for `age -d -i FILE` on sealed batches and .enc packages")
    register_web(action, _state)
    return parser


def main(argv: list[str] | None = None) -> int:
    from central.config import ConfigError
    from central.migrate import SchemaTooOld

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(CATALOGUE["cli.config_refused"].format(detail=exc).text, file=sys.stderr)
        return 2
    except SchemaTooOld as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def _config(args: argparse.Namespace):
    """The configuration file (if any) with the receiver options given on the command line over it."""
    from central.config import load, merge_cli
    cfg = load(args.config)
    if args.func is cmd_serve:
        merge_cli(cfg, {"host": args.host, "port": args.port, "max_size_mib": args.max_size_mib,
                        "origin": args.origin, "sip_check": False if args.no_sip_check else None,
                        "metrics_host": args.metrics_host, "metrics_port": args.metrics_port,
                        "header_timeout_s": args.header_timeout, "idle_timeout_s": args.idle_timeout,
                        "body_idle_timeout_s": args.body_idle_timeout, "trusted_proxies": args.trusted_proxy})
    return cfg


def cmd_serve(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from central import migrate
    from central.backends import open_state, open_store
    from central.config import patch_slots
    from sync.logs import setup_logging
    from central.receiver import ReceiverOptions
    from central.receiver_app import build_receiver_app, serve_forever
    from central.sip_check import receiver_member_check
    from sync.keys import load_or_create

    setup_logging("info", sys.stderr)  # the station's format, journald priorities (sync/logs.py)
    cfg = _config(args)
    rc = cfg.receiver
    state = open_state(cfg, args.root)
    try:
        migrate.check(state.schema_version(), state.backend)  # a node refuses an older schema (design 5.12)
        store = open_store(cfg, args.root, state)
        keys = cfg.keys_dir(args.root)
        single = state.backend == "sqlite"  # one box makes its own keys; cluster nodes read shared ones
        member_check = None
        if rc.sip_check:
            path = keys / "archive_x25519.pem"
            if not single and not path.exists():
                raise FileNotFoundError(f"{path}: missing; run `sohoa-central migrate` to create the keys")
            member_check = receiver_member_check(load_or_create(path, X25519PrivateKey))
        opts = ReceiverOptions(max_size=rc.max_size_mib * 1024 * 1024, header_timeout_s=rc.header_timeout_s,
                               idle_timeout_s=rc.idle_timeout_s, body_idle_timeout_s=rc.body_idle_timeout_s,
                               trusted_proxies=tuple(rc.trusted_proxies), retry_after_s=rc.retry_after_s,
                               patches_in_flight=patch_slots(cfg))
        if patch_slots(cfg) < rc.patches_in_flight:
            print(f"sohoa receiver: state.pool_max = {cfg.state.pool_max} holds {patch_slots(cfg)} PATCHes at once, "
                  f"not receiver.patches_in_flight = {rc.patches_in_flight} (design 5.12, connection budget)",
                  file=sys.stderr, flush=True)
        app = build_receiver_app(args.root, member_check=member_check, origin=rc.origin or None, opts=opts,
                                 state=state, store=store, keys_dir=keys, create_keys=single)
    except BaseException:
        state.close()
        raise

    def ready(listening) -> None:
        print(f"sohoa receiver: {state.backend} state, {store.backend} store on {listening.url}files/, "
              f"metrics on {listening.metrics_url}", file=sys.stderr, flush=True)
        if args.parent_pid is not None:
            _stop_with_parent(args.parent_pid)
    serve_forever(app, rc.host, rc.port, metrics_host=rc.metrics_host, metrics_port=rc.metrics_port,
                  on_ready=ready)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from central import migrate
    from central.backends import open_state
    from sync.keys import load_or_create

    cfg = _config(args)
    state = open_state(cfg, args.root, migrate_sqlite=False)
    try:
        before = state.schema_version()
        applied = state.migrate()
        after = state.schema_version()
    finally:
        state.close()
    keys = cfg.keys_dir(args.root)
    for name, kind in (("archive_x25519.pem", X25519PrivateKey), ("log_ed25519.pem", Ed25519PrivateKey)):
        load_or_create(keys / name, kind)
    print(f"{state.backend}: schema {before} -> {after} (applied {applied or 'nothing'}; "
          f"this release needs {migrate.latest(state.backend)}); keys in {keys}")
    return 0


def cmd_replicate(args: argparse.Namespace) -> int:
    from central.fixity_cli import run_replicate
    return run_replicate(args, _config(args))


def cmd_audit(args: argparse.Namespace) -> int:
    from central.fixity_cli import run_audit
    return run_audit(args, _config(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from central.demo import run_demo
    return run_demo(args)


def cmd_ingest(args: argparse.Namespace) -> int:
    from central.ingest_cli import run_ingest
    return run_ingest(args, _config(args))


def cmd_sweep(args: argparse.Namespace) -> int:
    """Orphans of never-accepted batches (design 5.12, W3): JSON report on stdout; 75 when a backend is down."""
    import json

    from central import migrate
    from central.backend_errors import BackendUnavailable
    from central.backends import open_state, open_store
    from central.sweep import sweep
    from sync.logs import setup_logging

    setup_logging("info", sys.stderr)
    cfg = _config(args)
    state = open_state(cfg, args.root)
    try:
        migrate.check(state.schema_version(), state.backend)
        store = open_store(cfg, args.root, state)
        report = sweep(state, store, older_than_s=args.older_than_hours * 3600.0, dry_run=args.dry_run)
    except BackendUnavailable as exc:
        print(f"sohoa-central sweep: {exc}", file=sys.stderr)
        return 75
    finally:
        state.close()
    print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from central.ingest_cli import run_export
    return run_export(args, _config(args))


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


def _state(args: argparse.Namespace):
    from central.backends import open_state
    from central.config import sqlite_path
    cfg = _config(args)
    url = cfg.state_url(args.root)
    if url.startswith("sqlite:") and not sqlite_path(url).exists():
        print(CATALOGUE["cli.no_receiver_state"].format(root=args.root).text, file=sys.stderr)
        return None
    return open_state(cfg, args.root)


def cmd_token(args: argparse.Namespace) -> int:
    from sync.canon import DEVICE_ID_RE
    if not DEVICE_ID_RE.fullmatch(args.device_id):
        print(CATALOGUE["cli.invalid_device_id"].text, file=sys.stderr)
        return 2
    state = _state(args)
    if state is None:
        return 1
    token = state.mint_token(args.device_id, ttl_s=args.ttl_hours * 3600)
    print(token)
    print(CATALOGUE["cli.token_issued"].format(device=args.device_id, hours=args.ttl_hours).text, file=sys.stderr)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    state = _state(args)
    if state is None:
        return 1
    if not state.revoke(args.device_id):
        print(CATALOGUE["cli.no_active_device"].format(device=args.device_id).text, file=sys.stderr)
        return 1
    print(f"{CATALOGUE['cli.revoked'].text}: {args.device_id}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from sync.keys import fingerprint
    state = _state(args)
    if state is None:
        return 1
    for d in state.devices():
        flag = "revoked" if d.revoked else "active"
        print(f"{d.device_id}\t{flag}\tkey {fingerprint(d.public_key)}\tlast seq {d.last_seq}\t{d.last_hash[:16]}")
    return 0


def cmd_rejections(args: argparse.Namespace) -> int:
    import datetime as dt
    state = _state(args)
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
    keys = _config(args).keys_dir(args.root)
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
