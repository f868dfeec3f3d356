-- Catalogue search at national scale (design 5.15 S1): PostgreSQL splits web_records into hash partitions.
-- SQLite keeps one table: its FTS5 index already stops at the window's 1,001st match.
SELECT 1;
