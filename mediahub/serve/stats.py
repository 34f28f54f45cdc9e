"""Download counting in the style of the IAB podcast measurement guidelines.

One download per (listener, episode) per UTC day, where a listener is the
client IP (as a salted hash, the salt replaced every day) plus its user
agent. Bytes served to a listener add up over all their requests that day
(apps download in ranges); the row counts once the sum reaches the first
minute of audio, or the whole file if it is shorter. ``bytes=0-1`` style
probes (2 bytes or fewer), HEAD requests and known bots never count.
Counts are gathered in memory and written in batches by ``flush()``, so a
busy media server does not write to the database on every request.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

from mediahub.catalog.tags import read as read_audio
from mediahub.errors import AudioError
from mediahub.model import DownloadCount, ServedBytes

log = logging.getLogger("mediahub.stats")

PROBE_BYTES = 2  # ``Range: bytes=0-1``: an app checking the file exists, not a download
COUNTED_SECONDS = 60.0


class StatsStore(Protocol):
    def day_salt(self, day: str) -> bytes: ...

    def add_served(self, rows: Sequence[ServedBytes]) -> None: ...


def load_bots(text: str | None = None) -> tuple[str, ...]:
    """The bundled bot list (or ``text`` in its format): lower-case fragments."""
    if text is None:
        text = resources.files("mediahub.serve").joinpath("bots.txt").read_text(encoding="utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def is_bot(user_agent: str, bots: tuple[str, ...]) -> bool:
    agent = user_agent.lower()
    return not agent.strip() or any(fragment in agent for fragment in bots)


def needed_bytes(path: Path, size: int) -> int:
    """Bytes of the first minute of audio (by average rate), or the whole file if shorter."""
    try:
        duration = read_audio(path).duration
    except AudioError:
        return size
    if duration <= COUNTED_SECONDS:
        return size
    return min(size, math.ceil(size * COUNTED_SECONDS / duration))


class DownloadCounter:
    """Adds up bytes served per listener and episode; ``flush()`` writes them to the store."""

    def __init__(
        self,
        store: StatsStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        bots: tuple[str, ...] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._bots = load_bots() if bots is None else bots
        self._salt: tuple[str, bytes] | None = None
        self._needed: dict[tuple[Path, int, int], int] = {}
        self._pending: dict[tuple[str, str, str, str], list[int]] = {}

    def served(
        self,
        ip: str,
        user_agent: str,
        episode: str,
        file: tuple[Path, int, int],
        served: int,
    ) -> None:
        """Note ``served`` bytes of ``episode`` (its path under public/) to one client.

        ``file`` is the media file's path, size and mtime_ns (they key the
        first-minute size, which is read from the file once).
        """
        if served <= PROBE_BYTES:
            return
        agent = user_agent[:300]
        if is_bot(agent, self._bots):
            return
        day = self._clock().astimezone(UTC).date().isoformat()
        listener = self._listener(day, ip)
        needed = self._needed.get(file)
        if needed is None:
            needed = self._needed[file] = needed_bytes(file[0], file[1])
        entry = self._pending.setdefault((day, listener, agent, episode), [0, needed])
        entry[0] += served

    def _listener(self, day: str, ip: str) -> str:
        if self._salt is None or self._salt[0] != day:
            self._salt = (day, self._store.day_salt(day))
        return hashlib.sha256(self._salt[1] + ip.encode()).hexdigest()[:32]

    def flush(self) -> int:
        """Write what was gathered since the last flush; the number of rows written."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        rows = [
            ServedBytes(day, listener, agent, episode, total, needed)
            for (day, listener, agent, episode), (total, needed) in pending.items()
        ]
        self._store.add_served(rows)
        return len(rows)


def per_episode(counts: list[DownloadCount]) -> dict[str, int]:
    """Total downloads per episode, most downloaded first."""
    totals: dict[str, int] = {}
    for count in counts:
        totals[count.episode] = totals.get(count.episode, 0) + count.downloads
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def per_day(counts: list[DownloadCount]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for count in counts:
        totals[count.day] = totals.get(count.day, 0) + count.downloads
    return dict(sorted(totals.items()))
