"""Next-fetch times are a pure function of history and ``now``: no clock, no randomness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mediahub.aggregate.schedule import Policy, next_fetch, posting_interval, should_pause

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICY = Policy()
URL = "https://lead.example/feed"


def wait(**kwargs: object) -> timedelta:
    return next_fetch(URL, NOW, POLICY, **kwargs) - NOW  # type: ignore[arg-type]


def near(actual: timedelta, expected: timedelta) -> bool:
    return expected * (1 - POLICY.jitter) <= actual <= expected * (1 + POLICY.jitter)


def test_posting_interval_counts_last_weeks_entries() -> None:
    daily = [NOW - timedelta(days=d, hours=1) for d in range(10)]
    assert posting_interval(daily, NOW) == timedelta(days=1)
    assert posting_interval([NOW - timedelta(days=30), None], NOW) is None
    assert posting_interval([NOW + timedelta(days=3)], NOW) is None


def test_a_busy_source_is_fetched_often_but_never_below_the_floor() -> None:
    assert near(wait(posting=timedelta(hours=6)), timedelta(hours=6))
    assert near(wait(posting=timedelta(minutes=1)), POLICY.floor)


def test_a_silent_source_waits_the_ceiling() -> None:
    assert near(wait(posting=None), POLICY.ceiling)


def test_feed_and_server_hints_are_lower_bounds_up_to_the_ceiling() -> None:
    assert near(wait(posting=timedelta(hours=1), hints=[7200, None, 600]), timedelta(hours=2))
    assert near(wait(posting=timedelta(hours=1), hints=[10 * 86400]), POLICY.ceiling)


def test_retry_after_is_honoured_beyond_the_ceiling() -> None:
    assert wait(posting=timedelta(hours=1), retry_after=2 * 86400) == timedelta(days=2)


def test_errors_back_off_exponentially_with_a_cap() -> None:
    waits = [wait(posting=timedelta(hours=1), errors=n) for n in (1, 2, 3, 4)]
    assert near(waits[0], POLICY.floor)
    assert near(waits[1], POLICY.floor * 2)
    assert near(waits[3], POLICY.floor * 8)
    assert near(wait(errors=50), POLICY.backoff_cap)


def test_configured_interval_wins_over_posting_rate() -> None:
    assert near(wait(posting=timedelta(hours=1), configured=timedelta(hours=5)), timedelta(hours=5))


def test_pause_after_thirty_days_of_failure() -> None:
    assert not should_pause(None, NOW, POLICY)
    assert not should_pause(NOW - timedelta(days=29), NOW, POLICY)
    assert should_pause(NOW - timedelta(days=30), NOW, POLICY)


def test_jitter_is_deterministic_and_spreads_sources() -> None:
    one = next_fetch(URL, NOW, POLICY, posting=timedelta(hours=4))
    assert one == next_fetch(URL, NOW, POLICY, posting=timedelta(hours=4))
    others = {next_fetch(f"https://s{n}.example/", NOW, POLICY) for n in range(20)}
    assert len(others) == 20


@given(
    posting=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=30))),
    hint=st.one_of(st.none(), st.floats(0, 1e7)),
    errors=st.integers(0, 100),
)
def test_always_within_jittered_floor_and_ceiling(
    posting: timedelta | None, hint: float | None, errors: int
) -> None:
    got = wait(posting=posting, hints=[hint], errors=errors)
    assert POLICY.floor * (1 - POLICY.jitter) <= got <= POLICY.ceiling * (1 + POLICY.jitter)
