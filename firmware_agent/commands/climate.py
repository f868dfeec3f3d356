"""`sohoa climate metrics|report` and `sohoa sensors`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("climate", help="storage-room climate: metrics at a condition, monthly report")
    csub = p.add_subparsers(dest="climate_command", metavar="ACTION", required=True)
    m = csub.add_parser("metrics", help="print PI, EMC, dew point, mould risk and IPI ratings as one JSON object")
    m.add_argument("--temp", type=float, required=True, help="temperature (°C)")
    m.add_argument("--rh", type=float, required=True, help="relative humidity (%%)")
    m.set_defaults(func=cmd_metrics)
    r = csub.add_parser("report", help="write the monthly room report (PDF or PNG)")
    r.add_argument("--month", required=True, type=_month, help="YYYY-MM")
    r.add_argument("--config", default="/etc/sohoa/sohoa.toml", help="TOML config file")
    r.add_argument("--db", type=Path, help="climate database (default: {state_dir}/climate.sqlite3)")
    r.add_argument("--format", choices=("pdf", "png"), default="pdf")
    r.add_argument("-o", "--output", type=Path, help="file to write (default: climate-YYYY-MM.FORMAT)")
    r.set_defaults(func=cmd_report)

    s = sub.add_parser("sensors", help="list the room sensors this machine can see, with one reading each")
    s.add_argument("--config", default=None, help="TOML config file (for locations and calibration)")
    s.add_argument("--sysfs-root", type=Path, default=None, help="directory standing for / (default /)")
    s.add_argument("--no-usb", action="store_true", help="do not look at USB devices")
    s.add_argument("--json", action="store_true", help="print JSON lines")
    s.set_defaults(func=cmd_sensors)


def _month(text: str) -> str:
    """``--month``: YYYY-MM with a month 01-12, checked by the parser so a wrong one is a usage error (status 2)."""
    import re

    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{CATALOGUE['climate.bad_month'].text}: {text!r} (YYYY-MM)")
    return text.strip()


def _config(path: str | None):
    from firmware_agent.config import ConfigError, load_config

    try:
        if path is not None and not Path(path).exists() and path == "/etc/sohoa/sohoa.toml":
            return load_config(None)  # not installed yet: defaults
        return load_config(path)
    except ConfigError as exc:
        print(f"{CATALOGUE['cli.config_error'].text}: {exc}", file=sys.stderr)
        return None


def cmd_metrics(args: argparse.Namespace) -> int:
    from firmware_agent.climate.metrics import point_metrics

    if not 0 <= args.rh <= 100 or not -40 <= args.temp <= 85:
        print(f"{CATALOGUE['cli.climate.out_of_range'].text}: --temp -40..85, --rh 0..100", file=sys.stderr)
        return exit_codes.USAGE
    print(json.dumps(point_metrics(args.temp, args.rh), ensure_ascii=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from firmware_agent.climate.report import render, report_data
    from firmware_agent.climate.service import band_of
    from firmware_agent.climate.store import ClimateStore

    cfg = _config(args.config)
    if cfg is None:
        return exit_codes.CONFIG
    db = args.db or cfg.state_path / "climate.sqlite3"
    if not db.exists():
        print(f"{CATALOGUE['cli.climate.no_database'].text}: {db}", file=sys.stderr)
        return 1
    settings = cfg.climate
    store = ClimateStore(db, raw_days=settings.raw_days, minute_days=settings.minute_days,
                         max_db_mb=settings.max_db_mb)
    try:
        locations = {c.id: c.location for c in settings.sensors if c.location}
        data = report_data(store, args.month, band=band_of(settings), room=settings.room_name,
                           period_s=settings.period_s, locations=locations)
    except ValueError as exc:
        # the month's form was checked by the parser; what is left is the data's or the machine's fault
        print(f"{CATALOGUE['climate.bad_month'].text}: {exc}", file=sys.stderr)
        return exit_codes.FAILURE
    finally:
        store.close()
    out = args.output or Path(f"climate-{args.month}.{args.format}")
    out.write_bytes(render(data, args.format))
    sensors, alerts = CATALOGUE["climate.term.sensors"], CATALOGUE["climate.term.alerts"]
    print(f"{out} ({len(data['sensors'])} {sensors.text}, {len(data['alerts'])} {alerts.text})")
    return 0


def cmd_sensors(args: argparse.Namespace) -> int:
    from drivers.sensors import SensorError, discover
    from firmware_agent.climate.messages import fault_text

    cfg = _config(args.config) if args.config else _config(None)
    if cfg is None:
        return exit_codes.CONFIG
    settings = cfg.climate
    root = args.sysfs_root or Path(settings.sysfs_root)
    include = frozenset(c.id for c in settings.sensors)
    sensors = discover(root, usb=settings.usb and not args.no_usb, include=include)
    if not sensors and not args.json:
        print(CATALOGUE["climate.no_sensor"].text)
    for sensor in sensors:
        conf = settings.sensor_config(sensor.sensor_id)
        row = {"id": sensor.sensor_id, "kind": sensor.kind, "description": sensor.description,
               "location": conf.location if conf else ""}
        try:
            r = sensor.read()
            row.update(t_c=round(r.t_c, 2), rh_pct=None if r.rh_pct is None else round(r.rh_pct, 2))
        except SensorError as exc:
            vi, en = fault_text(exc.reason)
            row.update(fault=exc.reason, message=f"{vi} / {en}", detail=exc.detail)
        finally:
            sensor.close()
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            value = row.get("message") or (f"{row['t_c']:.2f} °C" + (
                f"  {row['rh_pct']:.2f} %RH" if row.get("rh_pct") is not None else ""))
            print(f"{row['id']:<28} {row['kind']:<6} {value:<32} {row['description']}"
                  + (f"  [{row['location']}]" if row["location"] else ""))
    return 0
