-- The central web (design 5.15): heartbeats, station places, staff accounts, the audit trail and
-- the record files the web lists and searches (fed from the catalogue of 0003, design 5.13).
CREATE TABLE IF NOT EXISTS stations(
    device_id   TEXT PRIMARY KEY,
    commune     TEXT NOT NULL DEFAULT '',
    district    TEXT NOT NULL DEFAULT '',
    province    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS heartbeats_latest(
    device_id   TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,          -- highest accepted (H6)
    sent_at     DOUBLE PRECISION NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    report      TEXT NOT NULL              -- the JSON body as received
);
CREATE TABLE IF NOT EXISTS heartbeats_daily(
    device_id   TEXT NOT NULL,
    day         TEXT NOT NULL,             -- YYYY-MM-DD (UTC)
    received_at DOUBLE PRECISION NOT NULL,
    pages       INTEGER NOT NULL DEFAULT 0,
    processed   INTEGER NOT NULL DEFAULT 0,
    held        INTEGER NOT NULL DEFAULT 0,
    queue_depth INTEGER NOT NULL DEFAULT 0,
    report      TEXT NOT NULL,
    PRIMARY KEY (device_id, day)
);
CREATE TABLE IF NOT EXISTS heartbeat_events(
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT NOT NULL,
    at          DOUBLE PRECISION NOT NULL,
    kind        TEXT NOT NULL,             -- forged_heartbeat, stale_heartbeat, replayed_heartbeat, bad_heartbeat
    client      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS heartbeat_events_device ON heartbeat_events(device_id, at);
CREATE TABLE IF NOT EXISTS staff_users(
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,           -- viewer, archivist, administrator
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log(
    seq        INTEGER PRIMARY KEY,        -- 1, 2, ... without gaps (appended under the log lock)
    at         DOUBLE PRECISION NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    client     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_records(
    file_code   TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    mode        TEXT NOT NULL,             -- 01, 02, 03
    title       TEXT NOT NULL,             -- '' for mode 03 (A03)
    doc_type    TEXT NOT NULL DEFAULT '',
    issuer      TEXT NOT NULL DEFAULT '',
    start_date  TEXT NOT NULL DEFAULT '',
    end_date    TEXT NOT NULL DEFAULT '',
    documents   INTEGER NOT NULL DEFAULT 0,
    pages       INTEGER NOT NULL DEFAULT 0,
    fields      TEXT NOT NULL DEFAULT '{}', -- EAD fields, JSON ('{}' for mode 03)
    search_text TEXT NOT NULL DEFAULT '',  -- unaccented, lower-cased (mode 03: its file code alone)
    source      TEXT NOT NULL DEFAULT '',  -- the catalogue row it came from: device/seq/member
    added_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS web_records_device ON web_records(device_id);
CREATE INDEX IF NOT EXISTS web_records_source ON web_records(source);
CREATE TABLE IF NOT EXISTS web_documents(
    file_code   TEXT NOT NULL,
    n           INTEGER NOT NULL,
    fields      TEXT NOT NULL,             -- the document's fields with confidences, JSON
    pdf_key     TEXT NOT NULL DEFAULT '',  -- object key of its PDF/A
    PRIMARY KEY (file_code, n)
);
-- Full text over the unaccented text: "quyet dinh" finds "Quyết định".
CREATE VIRTUAL TABLE IF NOT EXISTS web_records_fts USING fts5(file_code UNINDEXED, body, tokenize = 'unicode61');
