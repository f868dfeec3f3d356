"""The batch race, forced: a member staged while its batch is closed and sealed.

The real journal, the real batch task (staging loose pages, closing batches) and
the real uploader's sealing run in threads. One of them is stopped before each
SQL statement it runs in turn (SQLite's statement trace, on that thread's own
connection), while the others run to the end; then it goes on. Every pause point
of both sides is tried, then random schedules of all three. Afterwards the
sealed files are opened with the archive's private key, as the archive would:
every page staged must be in exactly one sealed file, and every sealed batch's
journal members must be exactly its manifest's.

Before the batch ledger (design 2.1), pausing the stager between choosing the
open batch and inserting its member let the batch be closed, sealed and its
folder removed underneath: the page was lost (this test failed at that point).
"""

from __future__ import annotations

import random
import threading

import pytest


def paused_at(station, actor, k: int, others) -> bool:
    """Run *actor* in a thread, stopped before its k-th SQL statement while *others* run.

    Returns False when the actor ran fewer than k statements (no pause happened).
    """
    reached, go = threading.Event(), threading.Event()
    count = [0]
    errors: list[BaseException] = []

    def trace(_sql: str) -> None:
        count[0] += 1
        if count[0] == k:
            reached.set()
            go.wait(30)

    def run() -> None:
        conn = station.journal._conn()
        conn.set_trace_callback(trace)
        try:
            actor()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            conn.set_trace_callback(None)
            reached.set()

    t = threading.Thread(target=run)
    t.start()
    reached.wait(30)
    paused = count[0] == k and t.is_alive()
    other = threading.Thread(target=lambda: [fn() for fn in others])
    other.start()
    other.join(0.3)  # they may wait on the actor's write lock: that is the point
    go.set()
    t.join(30)
    other.join(30)
    assert not errors, errors
    return paused


@pytest.mark.parametrize("side", ["stager", "sealer"])
def test_every_pause_point_of_staging_and_sealing(tmp_path, side, stations):
    tried = 0
    for k in range(1, 200):
        station = stations.Station(tmp_path / f"{side}-{k}", pages=3)
        if side == "stager":
            paused = paused_at(station, station.stage, k, [station.close, station.seal])
        else:
            station.stage()
            station.close()
            more = station.journal.start_job("scanner:test", "default", "test")
            station.add_page(more, 1)
            paused = paused_at(station, station.seal, k, [station.stage, station.close])
        station.finish()
        station.check()
        station.journal.close()
        if not paused:
            break
        tried += 1
    assert tried >= 8, f"only {tried} pause points: the trace did not see the statements"
    print(f"{side}: {tried} pause points")


@pytest.mark.parametrize("seed", range(10))
def test_random_schedules_of_the_three_actors(tmp_path, seed, stations):
    rng = random.Random(seed)
    station = stations.Station(tmp_path / "state", pages=0)
    job = station.journal.start_job("scanner:test", "default", "test")
    seq = [0]
    stop = threading.Event()
    errors: list[BaseException] = []

    def producer() -> None:
        for _ in range(40):
            seq[0] += 1
            station.add_page(job, seq[0])
            station.stage()
            threading.Event().wait(rng.random() * 0.004)

    def loop(fn) -> None:
        try:
            while not stop.is_set():
                fn()
                threading.Event().wait(rng.random() * 0.004)
        except BaseException as exc:
            errors.append(exc)

    others = [threading.Thread(target=loop, args=(fn,)) for fn in (station.close, station.seal)]
    for t in others:
        t.start()
    try:
        producer()
    finally:
        stop.set()
        for t in others:
            t.join(30)
    assert not errors, errors
    station.finish()
    station.check()
    assert len(station.archived()) > 1, "the schedule never closed a batch while pages were coming"
    station.journal.close()
