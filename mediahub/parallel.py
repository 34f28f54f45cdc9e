"""Work shared among forked processes, one per core, for the CPU-bound parts of a build.

Forking inherits everything already in memory (the build plan, the template
environment), so nothing but results crosses a process boundary. It is skipped
when other threads run (the server builds in a thread: a fork would copy their
locks but not the threads) and for small jobs; MEDIAHUB_WORKERS overrides.

Every process pool of mediahub (the aggregation's parse pool too) is made by
``process_pool``, with pipes wide enough for a share's results, and stopped early
by ``stop_pool``, which kills.
"""

from __future__ import annotations

import gc
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeVar

from mediahub.errors import WorkerError

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future
    from multiprocessing.context import BaseContext

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
    # A worker lives for one build step: collecting garbage would only walk (and so copy)
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

    A worker that dies (the kernel's out-of-memory killer, a signal, a crash in C
    code) raises WorkerError at once: multiprocessing.Pool would
    quietly start another worker and wait forever for the lost chunk.
    """
    from concurrent.futures.process import BrokenProcessPool

    finished: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()
    with _forked_pool(task, workers) as pool:
        count = 0
        try:
            for chunk in chunks:
                pool.submit(_run, chunk).add_done_callback(finished.put)
                count += 1
        except BrokenProcessPool:
            raise _died() from None
        if meanwhile is not None:
            meanwhile()
        for _ in range(count):
            future = finished.get()
            try:
                result = future.result()
            except BrokenProcessPool:
                raise _died() from None
            del future  # the result's only other holder: free it once the caller has it
            yield result


def _died() -> WorkerError:
    return WorkerError(
        "build",
        "a worker process died before finishing its share (killed, or out of memory)",
        "run it again; with little memory, set MEDIAHUB_WORKERS=1 to use one process",
    )


@contextmanager
def _forked_pool(task: Callable[[Any], Any], workers: int) -> Iterator[Executor]:
    """A pool of ``workers`` processes forked (at the first submit) from this one.

    Left early (an error here, or the caller stopped taking results), the workers
    are killed rather than left to finish work nobody will read.
    """
    global _TASK
    # Imported here: a no-change build never forks, and should not pay for it.
    import multiprocessing

    _TASK = task
    gc.freeze()  # the parent's objects as they are: out of every later collection
    pool = process_pool(workers, multiprocessing.get_context("fork"))
    try:
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        _TASK = None
        gc.unfreeze()


# What a pool's pipes hold (Linux's default is 64 KiB; 1 MiB is what an unprivileged
# process may ask for). The pages are taken only as data waits in the pipe.
PIPE_BYTES = 1 << 20


def process_pool(
    workers: int, context: BaseContext, initializer: Callable[[], object] | None = None
) -> Executor:
    """A ProcessPoolExecutor as every pool of mediahub needs it: with wide pipes."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)
    _widen_pipes(pool)
    return pool


def _widen_pipes(pool: Executor) -> None:
    """Let a process pool's tasks and results cross in one write, not one per 64 KiB.

    A parse share's results are about 0.8 MB (100 pickled entries); a feed body sent to
    an aggregation worker is up to a few MB. Through a 64 KiB pipe the sender blocks at
    every 64 KiB until the pool's thread in this process reads, and that thread must
    first win the GIL from the main thread (up to the 5 ms switch interval each time):
    parse workers of a cold build sat idle 5-8% of their time that way. Elsewhere than
    Linux, or if the pool's internals differ, this does nothing.
    """
    import fcntl

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is None:
        return
    for queue_name in ("_call_queue", "_result_queue"):
        connection = getattr(getattr(pool, queue_name, None), "_reader", None)
        with suppress(OSError, AttributeError, ValueError):
            fcntl.fcntl(connection.fileno(), setsize, PIPE_BYTES)  # type: ignore[union-attr]


def stop_pool(pool: Executor) -> None:
    """Stop a process pool's workers now (Python 3.14 has ``kill_workers`` for this).

    Also what a broken pool needs: on 3.11, a worker spawned by a submit that raced
    the pool breaking is neither terminated nor sent a stop, and the pool's manager
    thread, and so interpreter exit, then waits for it forever."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join()
