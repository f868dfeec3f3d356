"""Deleting the appliance's own copy of pages once it is no longer needed.

The appliance is not the archive. A page's lossless capture is only the
source of its archival page and OCR page: it goes as soon as the batch that
carried the page is sealed (design J4), so captures, several times the size
of the archival JPEG, never pile up behind a slow or absent network.
The archival and OCR pages stay for ``keep_local_days`` after the receipt of
that batch was verified, as the second copy TT 05/2025 asks for while the
archive makes its own, then go too. Pages of record files held for review,
or of batches not yet sealed or acknowledged, are never touched. The rows
stay in the journal (with ``capture_removed_at`` and ``removed_at``) as the
history of what was scanned.
"""

from __future__ import annotations

import logging
import time

from firmware_agent.journal import Journal
from firmware_agent.thumbnails import preview_paths

log = logging.getLogger("sohoa.retention")


def remove_page_files(journal: Journal, page_ids: list[int]) -> int:
    """Delete the files of *page_ids* and mark the rows. Returns the number of pages done."""
    done = 0
    for pid in page_ids:
        page = journal.page(pid)
        # The previews go with the page: a scrubbed secret page leaves no thumbnail (design §6.6 C1).
        for path in (page.raw_path, page.colour_path, page.bitonal_path, *preview_paths(page.raw_path)):
            if path is not None:
                path.unlink(missing_ok=True)
        with journal.transaction() as db:
            db.execute("UPDATE pages SET removed_at=? WHERE id=? AND removed_at IS NULL", (time.time(), pid))
        done += 1
    return done


def remove_captures(journal: Journal, batch_id: int | None = None, limit: int = 500) -> int:
    """Delete the captures of pages in sealed batches (*batch_id*, or any); returns how many went.

    Sealed means the batch file, which holds every page it carried, is on
    the disk and in the journal; from then on nothing reads the capture.
    """
    done = 0
    while True:
        rows = journal.read(
            "SELECT p.id, p.raw_path FROM pages p JOIN page_batches pb ON pb.page_id = p.id"
            " JOIN batches b ON b.id = pb.batch_id"
            " WHERE b.state IN ('sealed', 'uploaded', 'acknowledged') AND (? IS NULL OR b.id = ?)"
            " AND p.capture_removed_at IS NULL AND p.removed_at IS NULL ORDER BY p.id LIMIT ?",
            (batch_id, batch_id, limit))
        if not rows:
            return done
        for pid, rel in rows:
            journal.abs(rel).unlink(missing_ok=True)
            with journal.transaction() as db:
                db.execute("UPDATE pages SET capture_removed_at=? WHERE id=? AND capture_removed_at IS NULL",
                           (time.time(), pid))
        done += len(rows)


def expired_pages(journal: Journal, keep_local_days: float, limit: int = 500) -> list[int]:
    """Pages whose batch was acknowledged more than *keep_local_days* ago and still have files."""
    cutoff = time.time() - keep_local_days * 86400
    rows = journal.read(
        "SELECT p.id FROM pages p JOIN page_batches pb ON pb.page_id = p.id JOIN batches b ON b.id = pb.batch_id"
        " WHERE b.state = 'acknowledged' AND b.acked_at <= ? AND p.removed_at IS NULL ORDER BY p.id LIMIT ?",
        (cutoff, limit))
    return [r[0] for r in rows]


def sweep(journal: Journal, keep_local_days: float) -> int:
    """One pass (blocking): delete what has expired. Returns pages whose files were removed.

    Captures of sealed batches that a crash kept from going at sealing time
    go here too (not counted).
    """
    remove_captures(journal)
    total = 0
    while True:
        ids = expired_pages(journal, keep_local_days)
        if not ids:
            break
        total += remove_page_files(journal, ids)
    if total:
        log.info("removed the local files of %d pages held by the archive for over %.1f days", total,
                 keep_local_days)
    return total
