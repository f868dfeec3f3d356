"""One page's full-resolution steps on several cores: bands of rows on plain threads.

The kernels release the GIL (``nogil=True``), so ordinary Python threads run them
on separate cores. numba's own ``parallel=True`` is not used: its default
threading layer (workqueue) must never be entered from two threads at once, and
the agent calls the pipeline from a pool of threads, one page each.

A step cut into bands gives the same result as the step over the whole page (the
kernels say how: rows read across a band's edge, runs linked across it); the
tests compare the two bit for bit. Bands are either one per thread (:func:`run`)
or more than threads, each taken by whichever thread is free (:func:`share`);
a call no helper has started yet when its result is wanted is made by the
thread that wants it (:class:`Task`).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

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


def split_tapering(n: int, threads: int, rounds: int, multiple: int = 1) -> list[tuple[int, int]]:
    """Ranges covering ``0 .. n`` for :func:`share` among ``threads`` threads: ``rounds``
    rounds of ``threads`` ranges each (fewer when ``n`` is small), each round's ranges
    half the size of the round before (for 2 threads and 3 rounds: 4, 4, 2, 2, 1, 1
    fourteenths), inner edges on a ``multiple``. The large first ranges keep the
    count, and what each range costs, low; the small last ones let threads that run
    at different speeds end close together (measured: imaging.sauvola.BAND_ROUNDS)."""
    weights = [1 << (rounds - 1 - i // threads) for i in range(threads * rounds)]
    total = sum(weights)
    edges, acc = [0], 0
    for wt in weights[:-1]:
        acc += wt
        e = (n * acc // total) // multiple * multiple
        if e > edges[-1]:
            edges.append(e)
    if n > edges[-1]:
        edges.append(n)
    return list(zip(edges, edges[1:]))


class Task(Generic[T]):
    """A call handed to the shared helpers. :meth:`result` makes it on the asking
    thread instead when no helper has started it yet: a helper woken late, or busy
    with another page's work, then costs this thread nothing but the call itself.
    Without ``together`` the call is made at once, on this thread."""

    def __init__(self, call: Callable[[], T], together: bool = True):
        self._call = call
        self._future: Future = _executor().submit(call) if together else self._here()

    def _here(self) -> Future:
        future: Future = Future()
        try:
            future.set_result(self._call())
        except BaseException as exc:  # noqa: BLE001 - raised by result(), as a helper's would be
            future.set_exception(exc)
        return future

    def result(self) -> T:
        """The call's result (or its error raised), once it is made; call from one thread only."""
        if self._future.cancel():
            self._future = self._here()
        return self._future.result()

    def done(self) -> bool:
        """Whether the call has been made (without making it)."""
        return self._future.done() and not self._future.cancelled()

    def exception(self) -> BaseException | None:
        """The call's error, or None (as :meth:`result`, it makes the call if no helper has started it)."""
        try:
            self.result()
        except BaseException as exc:  # noqa: BLE001 - returned, as Future.exception does
            return exc
        return None


def run(calls: list[Callable[[], T]], together: bool = True) -> list[T]:
    """Results of ``calls``: the first on this thread, the others on the shared helpers
    at the same time (all on this thread, in order, without ``together``); a call no
    helper has started by the time this thread wants it is made here (:class:`Task`)."""
    if len(calls) == 1 or not together:
        return [c() for c in calls]
    tasks = [Task(c) for c in calls[1:]]
    # Wait for every helper even if a band fails: a band still running must not
    # outlive the arrays the caller is about to drop.
    results: list = []
    error: BaseException | None = None
    try:
        results.append(calls[0]())
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others
        error = exc
    for t in tasks:
        try:
            results.append(t.result())
        except BaseException as exc:  # noqa: BLE001 - as above
            error = error or exc
    if error is not None:
        raise error
    return results


def share(calls: list[Callable[[], T]], workers: int) -> list[T]:
    """Results of ``calls``, in order, made by ``workers`` threads (this one and
    ``workers - 1`` shared helpers), each taking the next call not yet taken as soon
    as it is free.

    With more calls than workers, a worker that starts late or runs slower (a
    helper woken late, a core shared with the OCR processes) takes fewer of them,
    where :func:`run`'s fixed bands would leave this thread waiting for it. After a
    call fails, no further call is started; the first error is raised once every
    worker has stopped.
    """
    if workers <= 1 or len(calls) <= 1:
        return [c() for c in calls]
    results: list = [None] * len(calls)
    taken = itertools.count()  # next() on a count is atomic under the interpreter lock
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            i = next(taken)
            if i >= len(calls):
                return
            try:
                results[i] = calls[i]()
            except BaseException as exc:  # noqa: BLE001 - raised below, once every worker has stopped
                errors.append(exc)

    futures = [_executor().submit(work) for _ in range(min(workers, len(calls)) - 1)]
    work()
    for f in futures:
        # A helper still busy with other work when this thread ran out of calls
        # has nothing left to take: it is not waited for.
        if not f.cancel():
            f.result()
    if errors:
        raise errors[0]
    return results


class Helpers:
    """Calls started on the shared helpers while this thread does work of its own.

    ``start`` hands a call to the helpers (in the order started: with one helper,
    a call starts only after the ones before it) and returns its :class:`Task`,
    which this thread makes itself if no helper has started it when its result is
    asked for; leaving the ``with`` block waits for (or makes) every call started,
    even when the block fails, so that none outlives the arrays it works on, and
    raises the first call's error. Without ``together`` each call runs at once on
    this thread.
    """

    def __init__(self, together: bool = True):
        self._together = together
        self._tasks: list[Task] = []

    def __enter__(self) -> "Helpers":
        return self

    def start(self, call: Callable[[], T]) -> Task[T]:
        task = Task(call, self._together)
        self._tasks.append(task)
        return task

    def __exit__(self, kind, exc, tb) -> None:
        error = None
        for t in self._tasks:
            try:
                t.result()
            except BaseException as e:  # noqa: BLE001 - re-raised below, after the others
                error = error or e
        if error is not None and exc is None:
            raise error
