"""The central configuration file, schema migrations and `sohoa-central migrate` (design 5.12)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from central import config, migrate
from central.receiver_state import ReceiverState


def _write(tmp_path, text: str):
    p = tmp_path / "central.toml"
    p.write_text(text)
    return p


def test_defaults_are_one_box(tmp_path):
    cfg = config.load(None)
    assert cfg.state_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'receiver.sqlite3'}"
    assert cfg.objects_url(tmp_path) == f"file://{tmp_path.resolve()}"
    assert cfg.keys_dir(tmp_path) == tmp_path / "keys"
    assert (cfg.receiver.port, cfg.receiver.metrics_port, cfg.receiver.sip_check) == (8470, 8471, True)


def test_every_key_is_read_and_checked(tmp_path):
    cfg = config.load(_write(tmp_path, """
version = 1
[receiver]
host = "0.0.0.0"
port = 9000
header_timeout_s = 5
trusted_proxies = ["10.0.0.5"]
retry_after_s = 2
[keys]
dir = "/etc/k"
[state]
url = "postgresql://u@db/sohoa"
pool_max = 40
[objects]
url = "s3://bucket/prefix"
endpoint = "http://127.0.0.1:8333"
part_size_mib = 16
"""))
    assert cfg.receiver.host == "0.0.0.0" and cfg.receiver.port == 9000
    assert cfg.receiver.header_timeout_s == 5.0 and isinstance(cfg.receiver.header_timeout_s, float)
    assert cfg.receiver.trusted_proxies == ["10.0.0.5"] and cfg.state.pool_max == 40
    assert cfg.objects.part_size_mib == 16 and cfg.keys_dir(tmp_path) == config.Path("/etc/k")
    merged = config.merge_cli(cfg, {"port": 9100, "host": None})
    assert merged.receiver.port == 9100 and merged.receiver.host == "0.0.0.0"


@pytest.mark.parametrize("text, word", [
    ("version = 1\n[receiver]\nprot = 1\n", "receiver.prot"),
    ("version = 1\n[recever]\nport = 1\n", "recever"),
    ("version = 1\n[receiver]\nport = \"80\"\n", "receiver.port"),
    ("version = 1\n[receiver]\nsip_check = 1\n", "receiver.sip_check"),
    ("version = 2\n", "version"),
    ("[receiver]\nport = 1\n", "version"),
    ("version = 1\n[state]\nurl = \"mysql://x\"\n", "state.url"),
    ("version = 1\n[objects]\nurl = \"s3:///nobucket\"\n", "objects.url"),
    ("version = 1\n[objects]\npart_size_mib = 1\n", "part_size_mib"),
    ("version = 1\n[receiver\n", "central.toml"),
])
def test_refused_with_the_key_named(tmp_path, text, word):
    with pytest.raises(config.ConfigError) as exc:
        config.load(_write(tmp_path, text))
    assert word in str(exc.value)


def test_the_connection_budget_of_a_postgresql_node(tmp_path):
    """Design 5.12 B2: 2 x patches_in_flight + 15 connections; fewer slots when the pool is smaller."""
    pg = 'version = 1\n[state]\nurl = "postgresql://db/sohoa"\n'
    cfg = config.load(_write(tmp_path, pg))
    assert (cfg.state.pool_max, cfg.receiver.patches_in_flight) == (40, 12)
    assert config.pool_needed(12) == 39 <= cfg.state.pool_max and config.patch_slots(cfg) == 12
    cfg = config.load(_write(tmp_path, pg + "pool_max = 20\n"))
    assert config.patch_slots(cfg) == 2  # (20 - 15) // 2
    with pytest.raises(config.ConfigError, match="state.pool_max"):
        config.load(_write(tmp_path, pg + "pool_max = 16\n"))
    with pytest.raises(config.ConfigError, match="patches_in_flight"):
        config.load(_write(tmp_path, "version = 1\n[receiver]\npatches_in_flight = 0\n"))
    # One box (SQLite): no pool, the slots as configured.
    assert config.patch_slots(config.load(_write(tmp_path, "version = 1\n[receiver]\npatches_in_flight = 30\n"))) == 30


def test_cli_refuses_a_bad_file_with_status_2(tmp_path):
    p = _write(tmp_path, "version = 1\n[receiver]\nbogus = 1\n")
    r = subprocess.run([sys.executable, "-m", "central.cli", "devices", "--root", str(tmp_path), "--config", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "receiver.bogus" in r.stderr


def test_sqlite_file_from_before_migrations_is_migrated_in_place(tmp_path):
    path = tmp_path / "receiver.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(migrate.migrations("sqlite")[0].sql)
    db.execute("INSERT INTO devices VALUES ('dev-a', 'k', 1.0, NULL, 3, 'ab')")
    db.commit()
    db.close()
    state = ReceiverState(path)
    try:
        assert state.schema_version() == migrate.latest("sqlite")
        assert state.device("dev-a").last_seq == 3
        assert state.migrate() == []
    finally:
        state.close()


def test_postgresql_migrations_run_once_even_from_two_nodes(pg_cluster):
    from central.state_pg import PgState
    url = pg_cluster.new_database()
    a, b = PgState(url, pool_max=2), PgState(url, pool_max=2)
    try:
        assert a.schema_version() == 0
        with pytest.raises(migrate.SchemaTooOld) as exc:
            migrate.check(a.schema_version(), "postgresql")
        assert "sohoa-central migrate" in str(exc.value)
        results = []
        threads = [threading.Thread(target=lambda s=s: results.append(s.migrate())) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(v for r in results for v in r) == [m.version for m in migrate.migrations("postgresql")]
        assert a.schema_version() == b.schema_version() == migrate.latest("postgresql")
        migrate.check(b.schema_version(), "postgresql")
        assert a.counts()["accepted"] == 0
    finally:
        a.close()
        b.close()


def test_serve_refuses_an_older_schema_and_migrate_fixes_it(tmp_path, pg_cluster):
    url = pg_cluster.new_database()
    cfg = _write(tmp_path, f'version = 1\n[state]\nurl = "{url}"\n[keys]\ndir = "{tmp_path / "keys"}"\n')
    cli = [sys.executable, "-m", "central.cli"]
    r = subprocess.run([*cli, "serve", "--root", str(tmp_path / "rx"), "--config", str(cfg), "--port", "0",
                        "--metrics-port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and "run sohoa-central migrate" in r.stderr and "phiên bản 0" in r.stderr
    r = subprocess.run([*cli, "migrate", "--root", str(tmp_path / "rx"), "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"schema 0 -> {migrate.latest('postgresql')}" in r.stdout
    assert (tmp_path / "keys" / "log_ed25519.pem").exists() and (tmp_path / "keys" / "archive_x25519.pem").exists()
    r = subprocess.run([*cli, "migrate", "--root", str(tmp_path / "rx"), "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60)
    assert "applied nothing" in r.stdout
    r = subprocess.run([*cli, "token", "dev-a", "--root", str(tmp_path / "rx"), "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and len(r.stdout.strip()) == 43
