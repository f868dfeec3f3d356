-- The S3 store's upload bookkeeping (design 5.12, S1-S4): the database row is the truth.
CREATE TABLE IF NOT EXISTS obj_uploads(
    id            TEXT PRIMARY KEY,
    object_key    TEXT NOT NULL,           -- where the multipart upload completes (the archive name)
    mpu_id        TEXT NOT NULL,           -- S3's multipart upload id
    length        INTEGER NOT NULL,
    "offset"      INTEGER NOT NULL DEFAULT 0,
    meta          TEXT NOT NULL,           -- JSON
    next_part     INTEGER NOT NULL DEFAULT 1,  -- part numbers are never reused (S2)
    pending_key   TEXT,                    -- the incomplete-part object, if any
    pending_size  INTEGER NOT NULL DEFAULT 0,
    writer        TEXT,                    -- fencing token of the PATCH writing it (L1)
    completed     INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS obj_parts(
    upload_id     TEXT NOT NULL,
    part_number   INTEGER NOT NULL,
    start         INTEGER NOT NULL,        -- offset of the part's first byte in the upload
    size          INTEGER NOT NULL,
    etag          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
-- Every incomplete-part object written for an upload, noted before it is written, forgotten once
-- deleted: what a node killed between the write and the commit leaves is deleted with the upload.
CREATE TABLE IF NOT EXISTS obj_objects(
    upload_id     TEXT NOT NULL,
    object_key    TEXT NOT NULL,
    PRIMARY KEY (upload_id, object_key)
);
