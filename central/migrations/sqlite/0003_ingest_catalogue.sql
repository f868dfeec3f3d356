-- Ingest queue and catalogue (design 5.13). Catalogue rows are written only in the transaction that
-- moves their batch's ingest job to 'done' (Q4); every catalogue key starts with (device_id, seq).
CREATE TABLE ingest_batches(
    log_idx       INTEGER PRIMARY KEY,         -- the batch's log leaf index (5.9)
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    batch         TEXT NOT NULL,             -- batch hash
    archive       TEXT NOT NULL,             -- archive name of the sealed batch
    state         TEXT NOT NULL,             -- queued, claimed, done, failed
    worker        TEXT,                      -- lease token of the worker that claimed it
    lease_until   REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    queued_at     REAL NOT NULL,
    done_at       REAL,
    UNIQUE (device_id, seq)
);
CREATE INDEX ingest_batches_state ON ingest_batches(state, log_idx);
CREATE TABLE cat_batches(
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    batch         TEXT NOT NULL,
    log_idx       INTEGER NOT NULL UNIQUE,
    version       INTEGER NOT NULL,          -- batch format version (manifest v)
    created       INTEGER NOT NULL,            -- manifest created (Unix seconds)
    received      INTEGER NOT NULL,            -- log leaf received (Unix seconds)
    pages         INTEGER NOT NULL,            -- manifest pages
    documents     INTEGER NOT NULL,            -- manifest documents
    packages      INTEGER NOT NULL,          -- packages catalogued
    climate       TEXT,                      -- climate summary (7.7) as canonical JSON, or NULL
    ingested_at   REAL NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX cat_batches_received ON cat_batches(received);
CREATE TABLE cat_files(
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    member        TEXT NOT NULL,             -- uuid-{UUID}.zip or uuid-{UUID}.zip.enc
    objid         TEXT NOT NULL,             -- uuid-{UUID}
    secret        INTEGER NOT NULL,          -- 1: mode 03, ids and counts only
    agency        TEXT,
    package_key   TEXT NOT NULL,             -- object name (5.13)
    package_sha256 TEXT NOT NULL,
    package_size  INTEGER NOT NULL,
    documents     INTEGER NOT NULL,
    pages         INTEGER NOT NULL,
    file_code     TEXT NOT NULL,             -- the 18 EAD fields, in DOMAIN order
    title         TEXT,
    maintenance   TEXT,
    mode          TEXT NOT NULL,
    language      TEXT,
    start_date    TEXT,
    end_date      TEXT,
    keyword       TEXT,
    total_doc     TEXT,
    number_of_paper TEXT,
    number_of_page TEXT,
    format        TEXT,
    infor_sign    TEXT,
    confidence_level TEXT,
    paper_file_code TEXT,
    risk_recovery TEXT,
    risk_recovery_status TEXT,
    description   TEXT,
    PRIMARY KEY (device_id, seq, member)
);
CREATE INDEX cat_files_file_code ON cat_files(file_code);
CREATE INDEX cat_files_objid ON cat_files(objid);
CREATE TABLE cat_documents(
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    member        TEXT NOT NULL,
    doc_id        TEXT NOT NULL,             -- docId, then the other 20 EAD_DOC fields in DOMAIN order
    objid         TEXT NOT NULL,
    pdf_key       TEXT NOT NULL,
    pdf_sha256    TEXT NOT NULL,
    pdf_size      INTEGER NOT NULL,
    pages         INTEGER NOT NULL,          -- pages of the PDF
    doc_code      TEXT,
    maintenance   TEXT,
    type_name     TEXT,
    code_number   TEXT,
    code_notation TEXT,
    issued_date   TEXT,
    organ_name    TEXT,
    subject       TEXT,
    language      TEXT,
    number_of_page TEXT,
    infor_sign    TEXT,
    keyword       TEXT,
    mode          TEXT,
    confidence_level TEXT,
    autograph     TEXT,
    format        TEXT,
    risk_recovery TEXT,
    risk_recovery_status TEXT,
    process       TEXT,
    description   TEXT,
    PRIMARY KEY (device_id, seq, member, doc_id)
);
CREATE TABLE cat_text(
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    member        TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    page          INTEGER NOT NULL,          -- 1-based page of the document's PDF
    text          TEXT NOT NULL,             -- OCR words of the page, one space apart
    PRIMARY KEY (device_id, seq, member, doc_id, page)
);
CREATE TABLE cat_warnings(
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    n             INTEGER NOT NULL,          -- from 1 within the batch
    member        TEXT,                      -- NULL: the whole batch
    code          TEXT NOT NULL,             -- climate_alert, climate_out_of_band, damaged, not_a_package, counts_differ
    detail        TEXT NOT NULL,
    PRIMARY KEY (device_id, seq, n)
);
