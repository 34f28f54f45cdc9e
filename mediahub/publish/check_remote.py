"""``mediahub check --url``: fetch a feed and what it points at, then apply the rules.

Fetching is separate from checking: a first pass of the rules only records
which URLs they would read, those are fetched concurrently through the
project's one HTTP client, and the pure ``check_feed`` runs on the results.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from mediahub.aggregate.fetch import Fetcher, FetchSettings
from mediahub.aggregate.guard import NetworkGuard, literal_address, refusal
from mediahub.errors import FetchError
from mediahub.model import CheckResult
from mediahub.publish.check import check_feed
from mediahub.publish.check_files import MAX_BODY, Resource

# Enough parallel requests to check a long back catalogue, few enough to be polite.
CONCURRENCY = 8


def guard_for(url: str) -> NetworkGuard:
    """Loopback and private addresses are allowed only when the feed itself is on one:
    the user asked to check a local server, not a feed that points inward."""
    host = urlsplit(url).hostname or ""
    literal = literal_address(host)
    local = host.lower() == "localhost" or (literal is not None and refusal(literal) is not None)
    return NetworkGuard(allow_private=local)


async def check_url(url: str, guard: NetworkGuard | None = None) -> list[CheckResult]:
    """All rules for the feed at ``url``; FetchError if the feed itself cannot be fetched."""
    settings = FetchSettings(per_host=4, max_bytes=MAX_BODY, total_timeout=60)
    async with Fetcher(guard or guard_for(url), settings) as fetcher:
        response = await fetcher.get(url)
        wanted: dict[str, bool] = {}

        def record(target: str, want_body: bool) -> None:
            wanted[target] = wanted.get(target, False) or want_body

        check_feed(response.body, feed_url=url, resolve=lambda u, b: record(u, b))
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(target: str, want_body: bool) -> Resource:
            async with limit:
                if want_body:
                    return await _read(fetcher, target)
                return await _media(fetcher, target)

        fetched = await asyncio.gather(*(one(u, b) for u, b in wanted.items()))
    resources = {r.url: r for r in fetched}
    return check_feed(response.body, feed_url=url, resolve=lambda u, _b: resources.get(u))


async def _read(fetcher: Fetcher, url: str) -> Resource:
    try:
        response = await fetcher.get(url, accept="*/*")
    except FetchError as exc:
        return Resource(url, error=f"cannot be fetched: {exc.problem}")
    return Resource(
        url, size=len(response.body), body=response.body, content_type=response.content_type
    )


async def _media(fetcher: Fetcher, url: str) -> Resource:
    """HEAD for the size, then ``Range: bytes=0-1``, as podcast apps do before playing."""
    try:
        head = await fetcher.probe(url, "HEAD")
        ranged = await fetcher.probe(url, "GET", {"Range": "bytes=0-1"})
    except FetchError as exc:
        return Resource(url, error=f"cannot be fetched: {exc.problem}")
    size: int | None = None
    length = head.headers.get("Content-Length", "")
    total = re.search(r"/(\d+)\s*$", ranged.headers.get("Content-Range", ""))
    if head.status == 200 and length.isdigit():
        size = int(length)
    elif total:
        size = int(total.group(1))
    return Resource(
        url,
        size=size,
        content_type=head.headers.get("Content-Type"),
        head_status=head.status,
        range_status=ranged.status,
        range_length=len(ranged.body),
    )
