-- Per-value extraction confidences (formats 6.7, design 5.13): one row per extracted EAD_DOC value of a
-- document, from the sidecar member uuid-{OBJID}.confidence.json of a batch. Keyed by the batch that
-- carried it, like every catalogue row (Q4); joined to its package by objid (the sidecar may travel in
-- another batch than its package). Packages without a sidecar simply have no rows here.
CREATE TABLE IF NOT EXISTS cat_confidences(
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    member        TEXT NOT NULL,             -- uuid-{UUID}.confidence.json
    objid         TEXT NOT NULL,             -- uuid-{UUID}: the package it describes
    doc_id        TEXT NOT NULL,
    field         TEXT NOT NULL,             -- EAD_DOC element name (typeName, codeNumber, ...)
    confidence    INTEGER NOT NULL,          -- thousandths, 0..1000
    threshold     INTEGER NOT NULL,          -- the station's threshold for the field, thousandths
    reviewed      INTEGER NOT NULL,          -- 1: a technician confirmed the document's values
    PRIMARY KEY (device_id, seq, member, doc_id, field)
);
CREATE INDEX IF NOT EXISTS cat_confidences_objid ON cat_confidences(objid, seq);
-- The quality figures of a station's day (design 5.15): processed, warned and blank pages and pages per
-- warning code, from the day's heartbeat with the most processed pages, as JSON; NULL for days before.
ALTER TABLE heartbeats_daily ADD COLUMN quality TEXT;
-- A station's heartbeat seq is its wall-clock milliseconds (design 5.15), past a 32-bit INTEGER: widened
-- here (SQLite's INTEGER is 64-bit already).
ALTER TABLE heartbeats_latest ALTER COLUMN seq TYPE BIGINT;
