-- Catalogue search at national scale (design 5.15 S1): web_records split into 8 hash partitions by file code.
-- A search takes the first 1,001 matches; LIMIT stops the Append at the partition that fills them, so a
-- common phrase scans one eighth of the GIN index (its posting lists are what a search of common words
-- costs) instead of all of it. A file code still finds its one partition, and file-code order is a Merge
-- Append of the partitions' primary keys. The rows are copied whatever columns the table has by now
-- (every column but the generated search_tsv, which is computed again); the indexes are built after.
ALTER TABLE web_records RENAME TO web_records_unsplit;
CREATE TABLE web_records (LIKE web_records_unsplit INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING STORAGE)
    PARTITION BY HASH (file_code);
CREATE TABLE web_records_p0 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 0);
CREATE TABLE web_records_p1 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 1);
CREATE TABLE web_records_p2 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 2);
CREATE TABLE web_records_p3 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 3);
CREATE TABLE web_records_p4 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 4);
CREATE TABLE web_records_p5 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 5);
CREATE TABLE web_records_p6 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 6);
CREATE TABLE web_records_p7 PARTITION OF web_records FOR VALUES WITH (MODULUS 8, REMAINDER 7);
DO $$
DECLARE cols TEXT;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'web_records_unsplit' AND is_generated = 'NEVER';
    EXECUTE format('INSERT INTO web_records (%s) SELECT %s FROM web_records_unsplit', cols, cols);
END $$;
DROP TABLE web_records_unsplit;
ALTER TABLE web_records ADD PRIMARY KEY (file_code);
CREATE INDEX IF NOT EXISTS web_records_device ON web_records(device_id);
CREATE INDEX IF NOT EXISTS web_records_source ON web_records(source);
CREATE INDEX IF NOT EXISTS web_records_fts ON web_records USING gin (search_tsv);
CREATE INDEX IF NOT EXISTS web_records_code_trgm ON web_records USING gin (file_code gin_trgm_ops);
ANALYZE web_records;
