"""The journal's SQLite schema, the connection settings every user shares, and upgrades of older journals."""

from __future__ import annotations

import os
import sqlite3

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,            -- 'scanner:<device>' or 'hotfolder:<file name>'
    profile     TEXT NOT NULL DEFAULT '',
    trigger     TEXT NOT NULL DEFAULT '', -- button option name, 'web', 'key', 'hotfolder', 'demo', 'cli'
    state       TEXT NOT NULL CHECK (state IN ('running', 'paused', 'done', 'interrupted', 'failed', 'cancelled')),
    started_at  REAL NOT NULL,
    ended_at    REAL,
    message     TEXT NOT NULL DEFAULT ''  -- last operator message for this job
);
CREATE TABLE IF NOT EXISTS pages(
    id            INTEGER PRIMARY KEY,
    job_id        INTEGER NOT NULL REFERENCES jobs(id),
    seq           INTEGER NOT NULL,       -- 1-based image number within the job
    state         TEXT NOT NULL,          -- captured -> processed -> batched (records adds its own)
    raw_path      TEXT NOT NULL,          -- lossless capture, relative to state_dir
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    dpi           INTEGER NOT NULL,
    channels      INTEGER NOT NULL,
    captured_at   REAL NOT NULL,
    colour_path   TEXT,                   -- archival page, relative to state_dir
    bitonal_path  TEXT,                   -- OCR input, relative to state_dir
    analysis      TEXT,                   -- JSON from the processing stage
    processed_at  REAL,
    error         TEXT,
    removed_at    REAL,                   -- files deleted after the archive's receipt (retention)
    capture_removed_at REAL,              -- capture deleted once its batch was sealed (retention)
    UNIQUE (job_id, seq)
);
CREATE INDEX IF NOT EXISTS pages_state ON pages(state, id);
CREATE TABLE IF NOT EXISTS page_events(   -- append-only: proves each step ran once
    page_id  INTEGER NOT NULL REFERENCES pages(id),
    state    TEXT NOT NULL,
    at       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batches(
    id          INTEGER PRIMARY KEY,
    state       TEXT NOT NULL,            -- open -> staged -> (sync: sealed, uploaded, acknowledged)
    dir         TEXT NOT NULL,            -- relative to state_dir
    page_count  INTEGER NOT NULL DEFAULT 0,
    doc_count   INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    closed_at   REAL,
    acked_at    REAL                      -- when the receipt was verified (state 'acknowledged')
);
CREATE TABLE IF NOT EXISTS page_batches(  -- which batch carried a page (loose or inside a package)
    page_id   INTEGER PRIMARY KEY REFERENCES pages(id),
    batch_id  INTEGER NOT NULL REFERENCES batches(id)
);
CREATE TABLE IF NOT EXISTS batch_members(
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    name       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    pages      INTEGER NOT NULL,
    documents  INTEGER NOT NULL,
    PRIMARY KEY (batch_id, name)
);
CREATE TABLE IF NOT EXISTS events(        -- what the operator and technician read
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    level    TEXT NOT NULL,               -- info, warning, error
    code     TEXT NOT NULL,
    message  TEXT NOT NULL,
    job_id   INTEGER,
    page_id  INTEGER
);
"""


def open_db(path: str | os.PathLike) -> sqlite3.Connection:
    """Open the journal file with the pragmas every user of it must share."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit survives power loss, which is the whole point of the journal.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def upgrade(db: sqlite3.Connection, path: os.PathLike) -> None:
    """Stamp a new journal with the schema version, or bring an older one up to it (inside a transaction)."""
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None:
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        return
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"journal {path} has schema {version}, newer than this program "
                           f"({SCHEMA_VERSION}); refusing to touch it")
    if version == 1:
        # v1 -> v2: retention columns (CREATE IF NOT EXISTS added page_batches)
        db.execute("ALTER TABLE pages ADD COLUMN removed_at REAL")
        db.execute("ALTER TABLE batches ADD COLUMN acked_at REAL")
    if version <= 2:
        # v2 -> v3: captures go when their batch is sealed, the other files after the receipt
        db.execute("ALTER TABLE pages ADD COLUMN capture_removed_at REAL")
    if version < SCHEMA_VERSION:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
