"""Work shared among forked processes, one per core, for the CPU-bound parts of a build.

Forking inherits everything already in memory (the build plan, the template
environment), so nothing but results crosses a process boundary. It is skipped
when other threads run (the server builds in a thread: a fork would copy their
locks but not the threads) and for small jobs; MEDIAHUB_WORKERS overrides.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator, Sequence
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
    chunks: Sequence[T],
    workers: int,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[R]:
    """``task`` applied to each chunk in forked processes, results as they finish (in
    any order): the caller takes in one chunk's results while the next are worked on.

    ``meanwhile`` runs here once the workers are forked (so they do not inherit what
    it does), before the first result is taken in: work of this process's own that
    would otherwise wait for the workers or keep them waiting.
    """
    with _forked_pool(task, workers) as pool:
        results = pool.imap_unordered(_run, chunks)
        if meanwhile is not None:
            meanwhile()
        yield from results


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
