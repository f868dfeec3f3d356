"""Page review (firmware_agent/page_review.py): flags in the operator's words, marks that keep a page
from being sent while it is still the station's, and jobs listed by kind and page by page."""

from __future__ import annotations

import pytest

from firmware_agent.page_review import MarkRefused, ensure_schema, job_pages, list_jobs, mark_page, page_flags
from firmware_agent.page_tasks import BatchTask
from firmware_agent.records.store import RecordStore


def staged_names(journal) -> list[str]:
    return sorted(r[0] for r in journal.read("SELECT name FROM batch_members"))


def test_flags_read_as_the_operator_reads_them():
    flags = page_flags({"blank": True, "blank_measure": 0.5, "orientation": 180, "warnings": [
        {"code": "low_resolution", "measure": 150.0, "limit": 200.0},
        {"code": "page_size_change", "measure": 0.2, "limit": 0.04},
        {"code": "something_new", "measure": 1, "limit": 2}]})
    assert [f["flag"] for f in flags] == ["blank", "upside_down", "page_size_change", "low_resolution",
                                          "something_new"]
    assert flags[0]["vi"] == "Trang trắng" and flags[0]["en"] == "Blank page" and flags[0]["action_vi"]
    assert flags[2]["en"] == "Page size changed (possible double feed)" and flags[2]["measure"] == 0.2
    assert flags[4]["vi"] == "Cảnh báo khác (something_new)"
    assert page_flags(None, "failed")[0]["code"] == "page.flag.failed"
    assert page_flags({"blank": False, "warnings": []}) == []


def test_a_removed_page_is_never_staged_and_keep_brings_it_back(tmp_path, stations):
    st = stations.Station(tmp_path, 4)
    ensure_schema(st.journal)
    pages = job_pages(st.journal, 1)
    assert [p["seq"] for p in pages] == [1, 2, 3, 4] and all(p["mark"] is None for p in pages)
    done = mark_page(st.journal, pages[1]["id"], "remove", "operator")
    assert done["vi"] == "Đã bỏ trang 2 của lượt 1: trang này không được gửi đi"
    mark_page(st.journal, pages[2]["id"], "keep", "operator")  # nothing to undo: no change
    st.stage()
    assert staged_names(st.journal) == [st.names[0], st.names[2], st.names[3]]
    assert [p["mark"] for p in job_pages(st.journal, 1)] == [None, "remove", None, None]
    mark_page(st.journal, pages[1]["id"], "keep", "operator")
    st.stage()
    assert staged_names(st.journal) == sorted(st.names)
    with pytest.raises(MarkRefused) as late:  # staged: the archive will have it
        mark_page(st.journal, pages[0]["id"], "remove", "operator")
    assert late.value.status == 409 and "no longer be removed" in late.value.message.en
    with pytest.raises(MarkRefused) as bad:
        mark_page(st.journal, pages[0]["id"], "burn", "operator")
    assert bad.value.status == 400
    with pytest.raises(MarkRefused) as missing:
        mark_page(st.journal, 999, "remove", "operator")
    assert missing.value.status == 404


def test_a_page_removed_after_the_batch_task_listed_it_is_not_staged(tmp_path, stations, monkeypatch):
    # The batch task lists processed pages, then stages them one transaction each: a "remove"
    # landing between the list and a page's transaction must still keep that page out.
    st = stations.Station(tmp_path, 3)
    ensure_schema(st.journal)
    ids = [p["id"] for p in job_pages(st.journal, 1)]
    listed = st.journal.pages_in_state("processed", 200)
    monkeypatch.setattr(st.journal, "pages_in_state", lambda state, limit: listed)
    mark_page(st.journal, ids[1], "remove", "operator")  # after the list was read
    st.stage()
    assert staged_names(st.journal) == [st.names[0], st.names[2]]
    assert st.journal.read("SELECT state FROM pages WHERE id=?", (ids[1],))[0][0] == "removed"


def test_rescan_takes_the_sheet_and_the_rest_of_its_job_or_nothing(tmp_path, stations):
    st = stations.Station(tmp_path, 5)
    ensure_schema(st.journal)
    ids = [p["id"] for p in job_pages(st.journal, 1)]
    st.journal.set_page_state([ids[4]], "batched")  # as if the last page had left already
    with pytest.raises(MarkRefused):
        mark_page(st.journal, ids[2], "rescan", "operator")
    assert [p["mark"] for p in job_pages(st.journal, 1)] == [None] * 5  # all or none
    st.journal.set_page_state([ids[4]], "processed")
    msg = mark_page(st.journal, ids[2], "rescan", "operator")
    assert msg["en"] == "3 pages from page 3 of job 1 removed"
    assert msg["action_en"] == "Operator: put the sheets from sheet 3 back in the feeder and press Scan."
    st.stage()
    assert staged_names(st.journal) == st.names[:2]


def test_a_page_of_an_open_or_held_record_file_leaves_its_document(tmp_path, stations):
    st = stations.Station(tmp_path, 3)
    store = RecordStore(st.journal)
    ensure_schema(st.journal)
    ids = [p["id"] for p in job_pages(st.journal, 1)]
    with store.tx() as db:
        db.execute("INSERT INTO rec_files(id, file_code, cover, state, created_at, updated_at)"
                   " VALUES (1, 'X.1', '{}', 'held', 0, 0)")
        db.execute("INSERT INTO rec_files(id, file_code, cover, state, created_at, updated_at)"
                   " VALUES (2, 'X.2', '{}', 'packaged', 0, 0)")
        for pid, fid in zip(ids, (1, 1, 2)):
            db.execute("INSERT INTO rec_pages(page_id, role, file_id, doc_seq) VALUES (?, 'content', ?, 1)",
                       (pid, fid))
    with pytest.raises(MarkRefused) as early:  # still being placed into its record file
        mark_page(st.journal, ids[1], "remove", "operator")
    assert early.value.status == 409 and early.value.message.code == "page.mark.not_yet"
    st.journal.set_page_state(ids, "documented")
    mark_page(st.journal, ids[1], "remove", "operator")
    assert store.pages_of(1) == [(ids[0], "content", 1), (ids[1], "removed", 0)]
    assert [p["role"] for p in job_pages(st.journal, 1)] == ["content", "removed", "content"]
    with pytest.raises(MarkRefused):
        mark_page(st.journal, ids[2], "remove", "operator")  # its record file is packaged
    mark_page(st.journal, ids[1], "keep", "operator")
    assert store.pages_of(1) == [(ids[0], "content", 1), (ids[1], "content", 1)]


def test_scanner_jobs_are_listed_apart_from_hot_folder_jobs(tmp_path, stations):
    st = stations.Station(tmp_path, 1)  # job 1, from a scanner
    ensure_schema(st.journal)
    for n in range(12):
        st.journal.start_job(f"hotfolder:scan{n}.pdf#0123456789abcdef", "", "hotfolder")
    everything = list_jobs(st.journal, kind="all", limit=8)
    assert everything["total"] == 13 and 1 not in [j["id"] for j in everything["jobs"]]
    scanner = list_jobs(st.journal, kind="scanner")
    assert scanner["total"] == 1 and [j["id"] for j in scanner["jobs"]] == [1]
    second = list_jobs(st.journal, kind="hotfolder", offset=10, limit=10)
    assert second["total"] == 12 and [j["id"] for j in second["jobs"]] == [3, 2]
