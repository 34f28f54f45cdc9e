"""Work shared among forked processes, one per core, for the CPU-bound parts of a build.

Forking inherits everything already in memory (the build plan, the template
environment), so nothing but results crosses a process boundary. It is skipped
when other threads run (the server builds in a thread: a fork would copy their
locks but not the threads) and for small jobs; MEDIAHUB_WORKERS overrides.
"""

from __future__ import annotations

import gc
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The function the forked workers run (set only while a pool runs).
_TASK: Callable[[Any], Any] | None = None


def default_workers(tasks: int, minimum: int = 64) -> int:
    configured = os.environ.get("MEDIAHUB_WORKERS", "")
    if configured.isdigit():
        return max(1, int(configured))
    if tasks < minimum or threading.active_count() > 1 or os.name != "posix":
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _run(share: Any) -> Any:
    assert _TASK is not None
    # A worker lives for one share: collecting garbage would only walk (and so copy)
    # the parent's objects that it shares copy-on-write.
    gc.disable()
    return _TASK(share)


def fork_imap(
    task: Callable[[T], R],
    chunks: Iterable[T],
    workers: int,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[R]:
    """``task`` applied to each chunk in forked processes, results as they finish (in
    any order): the caller takes in one chunk's results while the next are worked on.

    ``chunks`` may be a generator (a scan, say): it runs here, in this thread, and each
    chunk goes to the workers as soon as it is made, so they begin before the last one
    is. (Handed to the pool's own thread instead, a generator that makes many system
    calls crawls while this thread runs Python: every call gives up the GIL, and
    getting it back can take the whole switch interval.)
    ``meanwhile`` runs here once every chunk is handed out (the workers were forked
    before, so they do not inherit what it does), before the first result is taken
    in: work of this process's own that would otherwise wait for the workers or keep
    them waiting.
    """
    finished: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    with _forked_pool(task, workers) as pool:
        count = 0
        for chunk in chunks:
            pool.apply_async(
                _run,
                (chunk,),
                callback=lambda result: finished.put((True, result)),
                error_callback=lambda error: finished.put((False, error)),
            )
            count += 1
        if meanwhile is not None:
            meanwhile()
        for _ in range(count):
            ok, outcome = finished.get()
            if not ok:
                raise outcome
            yield outcome


@contextmanager
def _forked_pool(task: Callable[[Any], Any], workers: int) -> Iterator[Any]:
    global _TASK
    import multiprocessing  # here: a no-change build never forks, and should not pay for it

    _TASK = task
    gc.freeze()  # the parent's objects as they are: out of every later collection
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield pool
    finally:
        _TASK = None
        gc.unfreeze()
