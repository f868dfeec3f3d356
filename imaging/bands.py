"""One page's full-resolution steps on several cores: bands of rows on plain threads.

The kernels release the GIL (``nogil=True``), so ordinary Python threads run them
on separate cores. numba's own ``parallel=True`` is not used: its default
threading layer (workqueue) must never be entered from two threads at once, and
the agent calls the pipeline from a pool of threads, one page each.

A step cut into bands gives the same result as the step over the whole page (the
kernels say how: rows read across a band's edge, runs linked across it); the
tests compare the two bit for bit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # Shared by every caller: pages processed side by side take turns on
            # the same helpers instead of each starting threads of its own.
            _pool = ThreadPoolExecutor(max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="imaging-band")
        return _pool


def split(n: int, parts: int, multiple: int = 1) -> list[tuple[int, int]]:
    """``parts`` ranges covering ``0 .. n``, as even as possible, inner edges on a ``multiple``.

    Fewer ranges when ``n`` is too small for ``parts`` non-empty ones.
    """
    parts = max(1, min(int(parts), max(1, n // max(1, multiple))))
    edges = [0]
    for i in range(1, parts):
        e = (n * i // parts) // multiple * multiple
        if e > edges[-1]:
            edges.append(e)
    edges.append(n)
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def run(calls: list[Callable[[], T]], together: bool = True) -> list[T]:
    """Results of ``calls``: the first on this thread, the others on the shared helpers
    at the same time (all on this thread, in order, without ``together``)."""
    if len(calls) == 1 or not together:
        return [c() for c in calls]
    futures = [_executor().submit(c) for c in calls[1:]]
    # Wait for every helper even if a band fails: a band still running must not
    # outlive the arrays the caller is about to drop.
    results: list = []
    error: BaseException | None = None
    try:
        results.append(calls[0]())
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others
        error = exc
    for f in futures:
        try:
            results.append(f.result())
        except BaseException as exc:  # noqa: BLE001 - as above
            error = error or exc
    if error is not None:
        raise error
    return results


class Helpers:
    """Calls started on the shared helpers while this thread does work of its own.

    ``start`` hands a call to the helpers (in the order started: with one helper,
    a call starts only after the ones before it) and returns its future; leaving
    the ``with`` block waits for every call started, even when the block fails, so
    that none outlives the arrays it works on, and raises the first call's error.
    Without ``together`` each call runs at once on this thread. A call must not
    wait for another started after it (with one helper, that one never starts).
    """

    def __init__(self, together: bool = True):
        self._together = together
        self._futures: list[Future] = []

    def __enter__(self) -> "Helpers":
        return self

    def start(self, call: Callable[[], T]) -> "Future[T]":
        if self._together:
            future = _executor().submit(call)
        else:
            future = Future()
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - raised by result(), as a helper's would be
                future.set_exception(exc)
        self._futures.append(future)
        return future

    def __exit__(self, kind, exc, tb) -> None:
        error = None
        for f in self._futures:
            try:
                f.result()
            except BaseException as e:  # noqa: BLE001 - re-raised below, after the others
                error = error or e
        if error is not None and exc is None:
            raise error
