"""The process pools' plumbing: results of any size come back whole, through wide pipes."""

from __future__ import annotations

import fcntl
import os

from mediahub import parallel
from mediahub.aggregate import workers

# Pipe sizes are a Linux feature; elsewhere process_pool cannot widen them, and every
# pipe counts as wide enough (results must still come back whole).
WIDE = [parallel.PIPE_BYTES] * 2


def _pipe_sizes(pool: object) -> list[int]:
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        return WIDE
    return [
        fcntl.fcntl(getattr(pool, name)._reader.fileno(), fcntl.F_GETPIPE_SZ)
        for name in ("_call_queue", "_result_queue")
    ]


def _payload(size: int) -> bytes:
    return os.urandom(size)


def test_a_forked_pool_passes_large_results_whole_through_wide_pipes() -> None:
    """A share's results (0.8 MB of pickled entries for a parse share) fit the pipe in
    one write; if the pool's internals change, the sizes say so here."""
    results = list(parallel.fork_imap(_payload, [300_000, 2_500_000, 10], workers=2))
    assert sorted(len(r) for r in results) == [10, 300_000, 2_500_000]
    with parallel._forked_pool(_payload, 2) as pool:
        assert _pipe_sizes(pool) == WIDE


def test_the_aggregation_parse_pool_has_wide_pipes_too() -> None:
    pool = workers.new_parse_pool(1)
    try:
        assert _pipe_sizes(pool) == WIDE
        assert len(pool.submit(_payload, 3_000_000).result(timeout=60)) == 3_000_000
    finally:
        parallel.stop_pool(pool)


def test_a_parse_worker_loads_the_parser_but_not_the_http_client() -> None:
    """A parse worker imports what it runs, and that must not pull in aiohttp: when
    the parse task lived beside the cycle, every worker imported the cycle and with
    it the HTTP client (0.18 CPU-s and its memory, in each worker, for nothing)."""
    from datetime import UTC, datetime

    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title><guid>one</guid></item></channel></rss>"
    )
    now = datetime(2026, 11, 2, tzinfo=UTC)
    pool = workers.new_parse_pool(1)
    try:
        task = pool.submit(workers.parse_for_store, 60.0, body, "http://example.org/f", None, now)
        assert [row[0] for row in task.result(timeout=60).rows] == ["one"]
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result(timeout=60)
        assert "mediahub.aggregate.parse" in loaded
        assert "aiohttp" not in loaded
        assert "mediahub.aggregate.cycle" not in loaded
    finally:
        parallel.stop_pool(pool)
