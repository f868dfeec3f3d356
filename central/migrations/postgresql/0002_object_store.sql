-- The S3 store's upload bookkeeping (design 5.12, S1-S4): the database row is the truth.
CREATE TABLE obj_uploads(
    id            TEXT PRIMARY KEY,
    object_key    TEXT NOT NULL,
    mpu_id        TEXT NOT NULL,
    length        BIGINT NOT NULL,
    "offset"      BIGINT NOT NULL DEFAULT 0,
    meta          TEXT NOT NULL,
    next_part     INTEGER NOT NULL DEFAULT 1,
    pending_key   TEXT,
    pending_size  BIGINT NOT NULL DEFAULT 0,
    writer        TEXT,
    completed     INTEGER NOT NULL DEFAULT 0,
    created_at    DOUBLE PRECISION NOT NULL,
    updated_at    DOUBLE PRECISION NOT NULL
);
CREATE TABLE obj_parts(
    upload_id     TEXT NOT NULL,
    part_number   INTEGER NOT NULL,
    start         BIGINT NOT NULL,
    size          BIGINT NOT NULL,
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
