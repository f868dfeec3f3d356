"""One page's steps cut into bands of rows on several threads give the page the steps give whole."""

import os
import threading
import time
from functools import partial

import numpy as np
import pytest
from hypothesis import given, strategies as st

from bench.imaging_pages import cached_page as page
from imaging import bands
from imaging.components import drop_specks
from imaging.errors import ImageError
from imaging.gray import reduce
from imaging.pipeline import PipelineParams, process_page
from imaging.rotate import rotate_crop
from imaging.sauvola import sauvola_runs


@pytest.mark.parametrize("n,parts,multiple", [(100, 2, 1), (100, 3, 16), (5, 8, 1), (1, 2, 1), (33, 2, 16),
                                             (16, 2, 16), (1000, 7, 5)])
def test_split_covers_every_row_once_with_inner_edges_on_the_multiple(n, parts, multiple):
    ranges = bands.split(n, parts, multiple)
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a < b for a, b in ranges)
    assert all(b == c for (_, b), (c, _) in zip(ranges, ranges[1:]))
    assert all(a % multiple == 0 for a, _ in ranges)
    assert 1 <= len(ranges) <= parts


@given(st.integers(0, 5000), st.integers(1, 6), st.integers(1, 5), st.integers(1, 32))
def test_tapering_ranges_cover_every_row_once_and_shrink_round_by_round(n, threads, rounds, multiple):
    ranges = bands.split_tapering(n, threads, rounds, multiple)
    assert [r for a, b in ranges for r in range(a, b)] == list(range(n))
    assert all(a % multiple == 0 for a, _ in ranges) and len(ranges) <= threads * rounds
    if n >= 64 * threads * rounds * multiple:
        sizes = [b - a for a, b in ranges]
        assert len(sizes) == threads * rounds
        for i in range(threads, len(sizes)):  # half the size of the round before, up to the rounding
            assert abs(2 * sizes[i] - sizes[i - threads]) <= 4 * multiple


def test_run_returns_results_in_order_and_uses_other_threads():
    seen = {}
    taken = threading.Event()

    def call(i):
        seen[i] = threading.get_ident()
        if i == 0:
            # this thread's band waits until a helper has taken one (a band no helper
            # has started by the time this thread wants it is made here: bands.Task)
            assert taken.wait(5)
        else:
            taken.set()
        return i * i

    assert bands.run([lambda i=i: call(i) for i in range(4)]) == [0, 1, 4, 9]
    assert seen[0] == threading.get_ident()
    assert seen[1] != threading.get_ident()
    assert bands.run([lambda i=i: call(i) for i in range(3)], together=False) == [0, 1, 4]


def test_run_waits_for_every_band_before_raising():
    done = threading.Event()

    def slow():
        done.wait(0.2)
        return "late"

    def fails():
        raise ValueError("band")

    finished = []
    with pytest.raises(ValueError, match="band"):
        bands.run([fails, lambda: finished.append(slow())])
    assert finished == ["late"]


def test_helpers_run_calls_beside_this_thread_and_wait_for_all_on_leaving():
    me = threading.get_ident()
    release = threading.Event()
    finished = []

    began = threading.Event()

    def slow():
        began.set()
        release.wait(5)
        finished.append("slow")
        return threading.get_ident()

    with bands.Helpers() as helpers:
        first = helpers.start(slow)
        second = helpers.start(lambda: finished.append("second"))
        assert began.wait(5)  # on a helper (a call not yet started there would be made here)
        assert not first.done()  # started, and this thread is not held up by it
        release.set()
    assert first.done() and second.done() and first.result() != me
    # with one helper the calls run in the order started
    assert finished == ["slow", "second"] or (os.cpu_count() or 2) > 2


def test_helpers_raise_the_first_error_after_every_call_has_finished():
    release = threading.Event()
    finished = []

    def fails():
        raise ValueError("helper")

    def slow():
        release.wait(0.2)
        finished.append("late")

    with pytest.raises(ValueError, match="helper"):
        with bands.Helpers() as helpers:
            helpers.start(fails)
            helpers.start(slow)
    assert finished == ["late"]
    # an error of the block's own wins, once the calls are done
    with pytest.raises(KeyError):
        with bands.Helpers() as helpers:
            helpers.start(fails)
            raise KeyError("own")


def test_helpers_not_together_run_each_call_at_once_on_this_thread():
    me = threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        with bands.Helpers(together=False) as helpers:
            f = helpers.start(threading.get_ident)
            assert f.done() and f.result() == me
            bad = helpers.start(lambda: 1 / 0)
            assert bad.done() and isinstance(bad.exception(), ZeroDivisionError)
    # the failed call's error is raised on leaving the block, as a helper's would be


def _hold_every_helper():
    """Occupy every shared helper until the returned event is set."""
    release, started = threading.Event(), []
    n = max(1, (os.cpu_count() or 2) - 1)
    hold = [bands._executor().submit(lambda: (started.append(1), release.wait(10))) for _ in range(n)]
    deadline = time.monotonic() + 5
    while len(started) < n and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(started) == n
    return release, hold


def test_a_call_no_helper_has_started_is_made_by_the_thread_that_wants_it():
    me = threading.get_ident()
    release, hold = _hold_every_helper()
    try:
        t0 = time.monotonic()
        # every helper is busy: the band, the task and the helpers' calls are made here, at once
        assert bands.run([threading.get_ident, threading.get_ident]) == [me, me]
        task = bands.Task(threading.get_ident)
        assert not task.done() and task.result() == me and task.done()
        with bands.Helpers() as helpers:
            late = helpers.start(threading.get_ident)
            bad = helpers.start(lambda: 1 / 0)
        assert late.result() == me and isinstance(bad.exception(), ZeroDivisionError)
        assert time.monotonic() - t0 < 5  # not held up by the busy helpers
    except ZeroDivisionError:
        pass  # Helpers raises the failed call's error on leaving, as a helper's would be
    finally:
        release.set()
        for f in hold:
            f.result()


def test_share_makes_every_call_once_in_order_on_the_threads_free():
    calls, seen = list(range(23)), []
    lock = threading.Lock()
    me = threading.get_ident()
    helped = threading.Event()

    def call(i):
        with lock:
            seen.append((i, threading.get_ident()))
        if threading.get_ident() != me:
            helped.set()
        elif i == 0 and not helped.is_set():
            assert helped.wait(5)  # the first call waits until the helper has taken one
        time.sleep(0.002)
        return i * i

    assert bands.share([lambda i=i: call(i) for i in calls], 2) == [i * i for i in calls]
    assert sorted(i for i, _ in seen) == calls
    assert len({t for _, t in seen}) == 2  # the helper took some
    # one worker, or every helper busy: all made here, none waited for
    seen.clear()
    assert bands.share([lambda i=i: call(i) for i in calls], 1) == [i * i for i in calls]
    release, hold = _hold_every_helper()
    try:
        seen.clear()
        assert bands.share([lambda i=i: call(i) for i in calls], 2) == [i * i for i in calls]
        assert {t for _, t in seen} == {me}
    finally:
        release.set()
        for f in hold:
            f.result()


def test_share_starts_no_call_after_one_fails_and_raises_the_first_error():
    started = []

    def call(i):
        started.append(i)
        if i == 2:
            raise ValueError("band 2")
        time.sleep(0.01)

    with pytest.raises(ValueError, match="band 2"):
        bands.share([lambda i=i: call(i) for i in range(40)], 2)
    assert 2 in started and len(started) < 10


def _runs_equal(a, b):
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("y", "x0", "x1", "rowstart"))


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_binarization_in_bands_is_the_whole_pages(threads):
    img = np.ascontiguousarray(page(dpi=300, seed=81, skew_deg=0.0, specks=40, bleed=True, uneven=True)[:1203, :997])
    whole, runs = sauvola_runs(img, 25, 0.2)
    banded, banded_runs = sauvola_runs(img, 25, 0.2, threads=threads)
    assert np.array_equal(whole, banded)
    assert _runs_equal(runs, banded_runs)


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("angle,flip", [(2.3, False), (-1.1, True), (0.0, True)])
def test_rotation_in_bands_is_the_whole_pages(colour, angle, flip):
    img = page(dpi=200, seed=82, colour=colour)
    h, w = img.shape[:2]
    box = (37, 51, w - 40, h - 23)
    whole = rotate_crop(img, angle, box, flip=flip, fill=200 if not colour else (200, 190, 180))
    for threads in (2, 3):
        banded = rotate_crop(img, angle, box, flip=flip, fill=200 if not colour else (200, 190, 180),
                             threads=threads)
        assert np.array_equal(whole, banded)


@pytest.mark.parametrize("colour,mode", [(False, "area"), (True, "area"), (False, "min")])
def test_reduction_in_bands_is_the_whole_pages(colour, mode):
    img = page(dpi=200, seed=82, colour=colour)
    whole = reduce(img, 3, mode)
    for threads in (2, 3):
        assert np.array_equal(whole, reduce(img, 3, mode, threads=threads))


@pytest.mark.parametrize("threads", [2, 3, 8])
@pytest.mark.parametrize("h,w", [(877, 620), (61, 37), (9, 5), (3, 100)])
def test_runs_and_labels_in_bands_are_the_whole_pages(threads, h, w):
    from imaging.components import label_runs
    from imaging.runs import find_runs

    rng = np.random.default_rng(h * w)
    # blobs that cross band edges, and noise
    mask = (rng.random((h, w)) < 0.08) | (np.add.outer(np.sin(np.arange(h) / 7.0), np.cos(np.arange(w) / 9.0)) > 1.2)
    whole = find_runs(mask)
    banded = find_runs(mask, threads=threads)
    assert _runs_equal(whole, banded) and banded.y.dtype == whole.y.dtype
    comp, comps = label_runs(whole)
    comp_b, comps_b = label_runs(banded, threads=threads)
    assert np.array_equal(comp, comp_b) and np.array_equal(comps.box, comps_b.box)
    assert np.array_equal(comps.area, comps_b.area)


def test_speck_removal_in_bands_is_the_whole_pages():
    # A band edge through a letter must not split it into specks: the two halves
    # are joined where the bands meet.
    img = page(dpi=300, seed=83, specks=60)
    bitonal, runs = sauvola_runs(img, 25, 0.2)
    whole = bitonal.copy()
    n = drop_specks(whole, runs, 4)
    for threads in (2, 5, 16):
        banded = bitonal.copy()
        assert drop_specks(banded, runs, 4, threads=threads) == n
        assert np.array_equal(whole, banded)
    assert n > 0


def _fused(img, size, threads):
    from imaging.specks import band_specks, join_specks
    from imaging.sauvola import sauvola_bands

    bitonal, parts = sauvola_bands(img, 15, 0.2, partial(band_specks, size=size, height=img.shape[0]),
                                   threads=threads)
    return bitonal, join_specks(bitonal, parts, size)


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_specks_removed_band_by_band_beside_the_binarization_are_the_whole_pages(threads):
    # Each band paints the specks within it; sets that reach a row where bands meet
    # (a letter cut by the band edge, a speck on that row) are joined afterwards.
    # The page and the count are those of drop_specks over all the runs at once.
    rng = np.random.default_rng(11)
    pages = [page(dpi=150, seed=88, uneven=True, bleed=True, specks=40)]
    for _ in range(12):
        h, w = int(rng.integers(20, 200)), int(rng.integers(20, 200))
        img = rng.integers(0, 256, (h, w), dtype=np.uint8)
        img[rng.random((h, w)) < 0.5] = 230
        pages.append(img)
    for img in pages:
        for size in (0, 1, 3, 9):
            whole, runs = sauvola_runs(img, 15, 0.2)
            n = drop_specks(whole, runs, size)
            fused, m = _fused(img, size, threads)
            assert np.array_equal(fused, whole) and m == n, (img.shape, size)
    assert n > 0


@pytest.mark.parametrize("spec", [dict(seed=84, skew_deg=1.7), dict(seed=85, colour=True, skew_deg=-2.0),
                                  dict(seed=86, upside_down=True, skew_deg=0.8), dict(seed=87, turn=90)])
def test_the_pipeline_on_several_threads_gives_the_same_page_and_analysis(spec):
    img = page(dpi=300, **spec)
    one = process_page(img, 300, PipelineParams(threads=1))
    two = process_page(img, 300, PipelineParams(threads=2))
    assert np.array_equal(one.colour, two.colour)
    assert np.array_equal(one.bitonal, two.bitonal)
    a, b = one.analysis.to_dict(), two.analysis.to_dict()
    a.pop("timings_ms"), b.pop("timings_ms")
    assert a == b


@pytest.mark.parametrize("threads", [0, -1, 65, 1.5, True])
def test_bad_thread_counts_are_refused(threads):
    img = page(dpi=200, seed=84)
    with pytest.raises(ImageError):
        rotate_crop(img, 1.0, threads=threads)
    with pytest.raises(ImageError):
        sauvola_runs(img, 15, threads=threads)
    with pytest.raises(ImageError):
        reduce(img, 2, threads=threads)
