-- The receiver's state as it was before versioned migrations (IF NOT EXISTS: an older file passes).
CREATE TABLE IF NOT EXISTS devices(
    device_id   TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    enrolled_at REAL NOT NULL,
    revoked_at  REAL,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    last_hash   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens(
    token_hash  TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
CREATE TABLE IF NOT EXISTS uploads(
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    batch       TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    length      INTEGER NOT NULL,
    state       TEXT NOT NULL,            -- open, accepted
    created_at  REAL NOT NULL,
    UNIQUE (device_id, seq, batch)
);
CREATE TABLE IF NOT EXISTS log(
    idx         INTEGER PRIMARY KEY,      -- leaf index, from 0, no gaps
    leaf_hash   BLOB NOT NULL,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    batch       TEXT NOT NULL,
    upload_id   TEXT NOT NULL,
    archive     TEXT NOT NULL,
    receipt     TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE TABLE IF NOT EXISTS rejections(
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    device_id   TEXT,
    seq         INTEGER,
    code        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enroll_refusals(
    address     TEXT PRIMARY KEY,         -- client address (IPv6: its /64), design 5.7
    attempts    INTEGER NOT NULL,
    first_at    REAL NOT NULL,
    last_at     REAL NOT NULL,
    last_device TEXT,                     -- the device id last asked for, when it was a valid id
    last_reason TEXT NOT NULL
);
