-- Two copies and fixity (design 5.14): the objects kept twice, the audit's findings and passes.
CREATE TABLE IF NOT EXISTS fixity(
    name           TEXT PRIMARY KEY,          -- object name under each store's prefix
    kind           TEXT NOT NULL,             -- batch, package, pdf
    source         TEXT,                      -- a package's or PDF's key as the catalogue writes it
    log_idx        INTEGER,                    -- a batch's leaf index (its expected hash is re-derived from it)
    sha256         TEXT NOT NULL,             -- expected hash (lowercase hex), from the leaf or the catalogue
    size           INTEGER NOT NULL,
    registered_at  REAL NOT NULL,
    primary_ok_at  REAL,          -- last time the copy was read whole and matched
    replica_ok_at  REAL,
    preserved_at   REAL,          -- first time both copies were verified; never cleared
    audited_at     REAL NOT NULL DEFAULT 0,     -- last audit; 0 = never
    primary_state  TEXT NOT NULL DEFAULT 'unknown',   -- ok, missing, mismatch, unknown
    replica_state  TEXT NOT NULL DEFAULT 'unknown',
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_try_at    REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS fixity_unreplicated ON fixity(next_try_at) WHERE replica_ok_at IS NULL;
CREATE INDEX IF NOT EXISTS fixity_audit_order ON fixity(audited_at, name);
CREATE UNIQUE INDEX IF NOT EXISTS fixity_log_idx ON fixity(log_idx);
CREATE UNIQUE INDEX IF NOT EXISTS fixity_source ON fixity(source);
CREATE TABLE IF NOT EXISTS fixity_findings(
    id        INTEGER PRIMARY KEY,
    at        REAL NOT NULL,
    name      TEXT NOT NULL,
    copy      TEXT NOT NULL,                  -- primary, replica, log
    problem   TEXT NOT NULL,                  -- missing, mismatch, bad_leaf
    expected  TEXT NOT NULL,
    found     TEXT,
    action    TEXT NOT NULL                   -- repaired, unrepairable, pending
);
CREATE TABLE IF NOT EXISTS audit_passes(
    id            INTEGER PRIMARY KEY,
    started_at    REAL NOT NULL,
    finished_at   REAL,
    total         INTEGER NOT NULL,
    checked       INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    mismatches    INTEGER NOT NULL DEFAULT 0,
    missing       INTEGER NOT NULL DEFAULT 0,
    repaired      INTEGER NOT NULL DEFAULT 0,
    unrepairable  INTEGER NOT NULL DEFAULT 0,
    unavailable   INTEGER NOT NULL DEFAULT 0
);
