"""When to fetch a source next: a pure function of its history and an injected ``now``.

Adaptive like Miniflux's entry-frequency scheduler: a source that posted
seven times last week is due again in a day / (its rate), one silent for a
week waits the ceiling. The feed's and server's own hints (``<ttl>``,
``sy:updatePeriod``, ``Cache-Control: max-age``, ``Expires``, ``Retry-After``)
are lower bounds; everything is clamped to [floor, ceiling] and spread by a
deterministic jitter so that sources added together do not stay in lockstep.
Errors back off exponentially; a source failing for 30 days is paused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Policy:
    """The scheduling knobs of the [aggregate] table."""

    floor: timedelta = timedelta(minutes=15)
    ceiling: timedelta = timedelta(hours=24)
    jitter: float = 0.1  # +- this fraction of the interval
    backoff_cap: timedelta = timedelta(hours=24)
    pause_after: timedelta = timedelta(days=30)


def posting_interval(published: Iterable[datetime | None], now: datetime) -> timedelta | None:
    """How often a source posts: a week divided by its entries of the last week.

    None when it posted nothing in the last week (then the ceiling applies).
    Future dates are ignored: some feeds date items ahead.
    """
    recent = [p for p in published if p is not None and now - WEEK <= p <= now]
    return WEEK / len(recent) if recent else None


def next_fetch(
    url: str,
    now: datetime,
    policy: Policy,
    *,
    posting: timedelta | None = None,
    hints: Iterable[float | None] = (),
    configured: timedelta | None = None,
    errors: int = 0,
    retry_after: float | None = None,
) -> datetime:
    """The next time to fetch ``url``.

    ``posting`` is its ``posting_interval``; ``hints`` are seconds the feed or
    server suggested between fetches (ttl, max-age, ...; any may be None),
    honoured up to the ceiling; ``configured`` an interval the owner set for
    this source; ``errors`` the consecutive failures so far; ``retry_after``
    what a 429/503 asked for, honoured even beyond the ceiling (up to a week).
    """
    interval: timedelta
    if errors > 0:
        interval = min(policy.floor * (2 ** min(errors - 1, 20)), policy.backoff_cap)
    elif configured is not None:
        interval = configured
    else:
        interval = posting if posting is not None else policy.ceiling
    for hint in hints:
        if hint is not None and hint > 0:
            interval = max(interval, timedelta(seconds=hint))
    interval = min(max(interval, policy.floor), policy.ceiling)
    interval = interval * (1 + policy.jitter * _spread(url, now))
    if retry_after is not None and retry_after > 0:
        interval = max(interval, min(timedelta(seconds=retry_after), WEEK))
    return now + interval


def should_pause(first_error: datetime | None, now: datetime, policy: Policy) -> bool:
    """True once a source has failed without a single success for ``pause_after``."""
    return first_error is not None and now - first_error >= policy.pause_after


def _spread(url: str, now: datetime) -> float:
    """A value in [-1, 1) fixed by the source and the time: jitter without randomness."""
    digest = hashlib.blake2b(f"{url}|{now.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1
