"""Moving a separator on the page review (firmware_agent/records/regroup.py, design §3.2 R5-R8):
documents and record files regrouped in one transaction while the record file is the station's."""

from __future__ import annotations

import json

import pytest

from firmware_agent.page_review import ensure_schema, job_pages
from firmware_agent.records.regroup import SeparatorRefused, move_separator
from firmware_agent.records.store import RecordStore


def _setup(st, state="held", docs=(1, 1, 2, 2, 2)):
    store = RecordStore(st.journal)
    ensure_schema(st.journal)
    ids = [p["id"] for p in job_pages(st.journal, 1)]
    with store.tx() as db:
        db.execute("INSERT INTO rec_files(id, file_code, cover, state, hold_code, cover_page_id, created_at,"
                   " updated_at) VALUES (1, 'X.1', ?, ?, 'needs_confirmation', NULL, 0, 0)",
                   (json.dumps({"file_code": "X.1", "mode": "03"}), state))
        for pid, doc in zip(ids, docs):
            db.execute("INSERT INTO rec_pages(page_id, role, file_id, doc_seq) VALUES (?, 'content', 1, ?)", (pid, doc))
        for seq in sorted(set(docs)):
            db.execute("INSERT INTO rec_docs(file_id, seq, fields, confidence, needs) VALUES (1, ?, '{}', '{}', '[]')",
                       (seq,))
    st.journal.set_page_state(ids, "documented")
    return store, ids


def docs_of(store, file_id):
    return [d for _p, _r, d in store.pages_of(file_id)]


def test_documents_and_record_files_regroup_and_are_rebuilt(tmp_path, stations):
    st = stations.Station(tmp_path, 5)
    store, ids = _setup(st)
    msg = move_separator(st.journal, ids[1], "document")
    assert msg["code"] == "page.separator.document_started"
    assert docs_of(store, 1) == [1, 2, 3, 3, 3]
    # analysed documents are dropped and the record file goes back to be analysed, keeping its hold reason
    assert store.docs(1) == [] and store.file(1).state == "closed" and store.file(1).hold_code == "needs_confirmation"
    move_separator(st.journal, ids[2], "none")
    assert docs_of(store, 1) == [1, 2, 2, 2, 2]
    msg = move_separator(st.journal, ids[3], "file")
    new = msg["vi"].split("#")[1].split(",")[0]
    new_id = int(new)
    assert new_id != 1 and msg["code"] == "page.separator.file_started"
    assert store.pages_of(1) == [(ids[0], "content", 1), (ids[1], "content", 2), (ids[2], "content", 2)]
    assert [p for p, _r, _d in store.pages_of(new_id)] == ids[3:] and docs_of(store, new_id) == [1, 1]
    f = store.file(new_id)
    assert (f.state, f.hold_code, f.file_code, f.cover) == ("closed", "separator_moved", None, {"mode": "03"})
    assert [p["starts"] for p in job_pages(st.journal, 1)] == ["file", "document", None, "file", None]
    # the split-off record file has no cover sheet of its own: it can join the one before again
    msg = move_separator(st.journal, ids[3], "none")
    assert msg["code"] == "page.separator.file_joined"
    assert docs_of(store, 1) == [1, 2, 2, 2, 2] and store.file(new_id).state == "empty"
    events = [r[0] for r in st.journal.read("SELECT state FROM page_events WHERE state LIKE 'separator_%' ORDER BY rowid")]
    assert events == ["separator_document", "separator_none", "separator_file", "separator_none"]


def test_an_open_record_file_split_leaves_the_new_one_open_for_the_pages_to_come(tmp_path, stations):
    st = stations.Station(tmp_path, 3)
    store, ids = _setup(st, state="open", docs=(1, 1, 1))
    msg = move_separator(st.journal, ids[2], "file")
    new_id = int(msg["vi"].split("#")[1].split(",")[0])
    assert store.file(1).state == "closed" and store.file(new_id).state == "open"
    assert [f.id for f in store.files("open")] == [new_id]


@pytest.mark.parametrize("state", ["ready", "packaged"])
def test_refused_once_the_record_file_is_ready_or_packaged(tmp_path, stations, state):
    st = stations.Station(tmp_path, 3)
    store, ids = _setup(st, state=state, docs=(1, 1, 1))
    with pytest.raises(SeparatorRefused) as refused:
        move_separator(st.journal, ids[1], "document")
    assert refused.value.status == 409 and refused.value.message.code == "page.separator.too_late"
    assert docs_of(store, 1) == [1, 1, 1] and len(store.docs(1)) == 1


def test_bad_choice_unknown_page_unplaced_page_and_non_content_page(tmp_path, stations):
    st = stations.Station(tmp_path, 3)
    store, ids = _setup(st, docs=(1, 1))
    with pytest.raises(SeparatorRefused) as bad:
        move_separator(st.journal, ids[0], "sideways")
    assert bad.value.status == 400
    with pytest.raises(SeparatorRefused) as missing:
        move_separator(st.journal, 999, "document")
    assert missing.value.status == 404
    with pytest.raises(SeparatorRefused) as unplaced:
        move_separator(st.journal, ids[2], "document")
    assert unplaced.value.status == 409 and unplaced.value.message.code == "page.separator.not_placed"
    with store.tx() as db:
        db.execute("UPDATE rec_pages SET role='blank', doc_seq=0 WHERE page_id=?", (ids[1],))
    with pytest.raises(SeparatorRefused) as blank:
        move_separator(st.journal, ids[1], "document")
    assert blank.value.message.code == "page.separator.not_content"
    # a record file with a cover sheet of its own never joins the one before
    with store.tx() as db:
        db.execute("UPDATE rec_files SET cover_page_id=? WHERE id=1", (ids[0],))
    with pytest.raises(SeparatorRefused) as join:
        move_separator(st.journal, ids[0], "none")
    assert join.value.message.code == "page.separator.cannot_join"
