"""The journal's SQLite schema, the connection settings every user shares, and upgrades of older journals."""

from __future__ import annotations

import os
import sqlite3

SCHEMA_VERSION = 4

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
CREATE TABLE IF NOT EXISTS batches(   -- one state machine per batch (design 2.1)
    id          INTEGER PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('open', 'staged', 'sealing', 'sealed', 'uploaded',
                                               'acknowledged')),
    dir         TEXT NOT NULL,            -- batch folder, relative to state_dir
    page_count  INTEGER NOT NULL DEFAULT 0,
    doc_count   INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    closed_at   REAL,
    acked_at    REAL,                     -- when the receipt was verified (state 'acknowledged')
    seq         INTEGER,                  -- position in this device's chain, from 'sealing' on
    batch_hash  TEXT,                     -- SHA-256 of the manifest, from 'sealed' on
    file_sha256 TEXT,                     -- SHA-256 of the sealed file
    size        INTEGER,                  -- bytes of the sealed file
    sealed_path TEXT,                     -- relative to state_dir
    manifest    TEXT,                     -- canonical JSON of the manifest (5.3)
    sealed_at   REAL,
    upload_url  TEXT,                     -- committed before the first PATCH (A2)
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    receipt_json TEXT                     -- the verified receipt (A3)
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
-- Indexes of columns added by an upgrade are made in `upgrade` (the columns exist only after it).
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
    # Deleted rows and freed pages are overwritten with zeros, so text removed on purpose (a secret
    # record's OCR and fields, docs/design.md §6.6 C4) is gone from the file once the WAL is checkpointed.
    # Debian builds SQLite with SECURE_DELETE, making this its default; other builds are not.
    conn.execute("PRAGMA secure_delete=ON")
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
    if version <= 3:
        _fold_sync_batches(db)
    if version < SCHEMA_VERSION:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))


def ensure_indexes(db: sqlite3.Connection) -> None:
    """Indexes on columns that older journals gain only in :func:`upgrade` (run after it)."""
    # B2 (a member name belongs to at most one batch) is checked inside the staging
    # transaction rather than by a unique index: a journal from before version 4 may
    # already hold a name twice, and it must still open so the audit can report it.
    db.execute("CREATE INDEX IF NOT EXISTS batch_members_name ON batch_members(name)")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS batches_seq ON batches(seq) WHERE seq IS NOT NULL")
    db.execute("CREATE INDEX IF NOT EXISTS batches_state ON batches(state, id)")


_V4_COLUMNS = ("seq INTEGER", "batch_hash TEXT", "file_sha256 TEXT", "size INTEGER", "sealed_path TEXT",
               "manifest TEXT", "sealed_at REAL", "upload_url TEXT", "attempts INTEGER NOT NULL DEFAULT 0",
               "last_error TEXT", "receipt_json TEXT")


def _fold_sync_batches(db: sqlite3.Connection) -> None:
    """v3 -> v4: the uploader's own table becomes columns of ``batches`` (one state machine, 2.1).

    The two tables were written in separate commits, so a crash between them left
    them disagreeing (the journal said 'uploaded', the uploader 'acknowledged').
    The more advanced of the two wins: a verified receipt in ``sync_batches`` is
    proof of acknowledgement; a row there is proof of a durable sealed file.
    The old ``batches`` table had a state column without the CHECK; rows keep
    their state, which is always one the new CHECK allows.
    """
    have = {r[1] for r in db.execute("PRAGMA table_info(batches)")}
    for col in _V4_COLUMNS:
        if col.split()[0] not in have:
            db.execute(f"ALTER TABLE batches ADD COLUMN {col}")
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sync_batches'").fetchone() is None:
        return
    rank = {"open": 0, "staged": 1, "sealing": 2, "sealed": 3, "uploaded": 4, "acknowledged": 5}
    for r in db.execute("SELECT * FROM sync_batches").fetchall():
        row = db.execute("SELECT state, acked_at FROM batches WHERE id=?", (r["batch_id"],)).fetchone()
        if row is None:
            continue
        sync_state = "acknowledged" if r["receipt_json"] else r["state"]
        state = max((row["state"], sync_state), key=lambda s: rank.get(s, 0))
        acked = row["acked_at"] or r["acknowledged_at"] if state == "acknowledged" else None
        db.execute("UPDATE batches SET state=?, acked_at=?, seq=?, batch_hash=?, file_sha256=?, size=?,"
                   " sealed_path=?, sealed_at=?, upload_url=?, attempts=?, last_error=?, receipt_json=?"
                   " WHERE id=?",
                   (state, acked, r["seq"], r["batch_hash"], r["file_sha256"], r["size"], r["sealed_path"],
                    r["sealed_at"], r["upload_url"], r["attempts"], r["last_error"], r["receipt_json"],
                    r["batch_id"]))
    db.execute("DROP TABLE sync_batches")
