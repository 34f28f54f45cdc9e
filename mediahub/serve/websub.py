"""WebSub (W3C Recommendation): the hub's own hub, and pings to other hubs.

- Built-in hub at ``/websub`` for the hub's own feed: subscribe and
  unsubscribe requests are answered 202 and verified out of band (the
  callback must echo ``hub.challenge``); subscriptions carry a lease and
  expire; when a rebuild changes the feed, every subscriber gets the new feed
  body, signed with ``X-Hub-Signature: sha256=...`` (HMAC over the body with
  the subscriber's secret) when it gave one.
- Publisher pings: configured hubs get ``hub.mode=publish`` and any ping URLs
  (e.g. the Podcast Index's pub-notify) a POST, retried with backoff.

Every outbound request goes through the project's one HTTP client and its
network guard (``aggregate/fetch.py``). Nothing here blocks a build.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import web

from mediahub.aggregate.fetch import Fetcher, FetchSettings, post
from mediahub.aggregate.guard import NetworkGuard
from mediahub.errors import FetchError
from mediahub.model import Subscription
from mediahub.store import Store

log = logging.getLogger("mediahub.websub")

DEFAULT_LEASE = 10 * 24 * 3600
MAX_LEASE = 30 * 24 * 3600
MIN_LEASE = 60
MAX_SECRET = 199  # the spec: secrets must be under 200 bytes
RETRIES = (5.0, 30.0, 120.0)  # pauses between attempts


class Hub:
    """The built-in hub and publisher for one feed (the hub's own ``feed.xml``)."""

    def __init__(
        self,
        topic: str,
        hub_url: str,
        store: Callable[[], Store],
        clock: Callable[[], datetime],
        guard: NetworkGuard,
        pings: tuple[str, ...] = (),
        retries: tuple[float, ...] = RETRIES,
    ) -> None:
        self.topic = topic
        self.hub_url = hub_url
        self._store = store
        self._clock = clock
        self._guard = guard
        self._pings = pings
        self._retries = retries
        self._tasks: set[asyncio.Task[None]] = set()
        # (mode, callback, verified) of every finished intent verification, oldest first.
        self.verifications: list[tuple[str, str, bool]] = []

    # -- subscribers ---------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """POST /websub: a subscription request (answered 202, verified afterwards)."""
        form = await request.post()
        mode = str(form.get("hub.mode", ""))
        topic = str(form.get("hub.topic", ""))
        callback = str(form.get("hub.callback", ""))
        if mode not in ("subscribe", "unsubscribe"):
            return _bad(f"hub.mode {mode!r} is not supported: use subscribe or unsubscribe")
        if topic != self.topic:
            return _bad(f"hub.topic {topic!r} is not served by this hub: use {self.topic}")
        if urlsplit(callback).scheme not in ("http", "https") or not urlsplit(callback).netloc:
            return _bad(f"hub.callback {callback!r} is not an http(s) URL")
        secret = str(form["hub.secret"]) if "hub.secret" in form else None
        if secret is not None and not 0 < len(secret.encode()) <= MAX_SECRET:
            return _bad("hub.secret must be 1 to 199 bytes")
        try:
            lease = int(str(form.get("hub.lease_seconds", DEFAULT_LEASE)))
        except ValueError:
            return _bad("hub.lease_seconds must be a whole number")
        lease = max(MIN_LEASE, min(lease, MAX_LEASE))
        self._spawn(self._verify(mode, callback, secret, lease))
        return web.Response(status=202, text="accepted: the callback will be verified\n")

    async def _verify(self, mode: str, callback: str, secret: str | None, lease: int) -> None:
        verified = False
        try:
            verified = await self._intent(mode, callback, secret, lease)
        finally:
            self.verifications.append((mode, callback, verified))

    async def _intent(self, mode: str, callback: str, secret: str | None, lease: int) -> bool:
        """Ask the callback to echo a challenge; record or drop the subscription if it does."""
        challenge = secrets.token_urlsafe(24)
        query = {"hub.mode": mode, "hub.topic": self.topic, "hub.challenge": challenge}
        if mode == "subscribe":
            query["hub.lease_seconds"] = str(lease)
        url = callback + ("&" if urlsplit(callback).query else "?") + urlencode(query)
        try:
            async with Fetcher(self._guard, FetchSettings(total_timeout=10)) as fetcher:
                answer = await fetcher.get(url, accept="text/plain, */*")
        except FetchError as exc:
            log.warning("websub: %s not verified: %s", callback, exc.line())
            return False
        if answer.status != 200 or answer.body.strip() != challenge.encode():
            log.warning("websub: %s did not echo the challenge; not %sd", callback, mode)
            return False
        store = self._store()
        if mode == "subscribe":
            expires = self._clock() + timedelta(seconds=lease)
            store.save_subscription(Subscription(self.topic, callback, secret, expires))
            log.info("websub: %s subscribed until %s", callback, expires.isoformat())
        else:
            store.remove_subscription(self.topic, callback)
            log.info("websub: %s unsubscribed", callback)
        return True

    # -- publishing ----------------------------------------------------------

    async def feed_changed(self, body: bytes) -> None:
        """After a rebuild changed the feed: push it to subscribers and ping other hubs."""
        for sub in self._store().active_subscriptions(self.topic, self._clock()):
            self._spawn(self._with_retries(f"push to {sub.callback}", self._push(sub, body)))
        for ping in self._pings:
            self._spawn(self._with_retries(f"ping {ping}", self._ping(ping)))

    def _push(self, sub: Subscription, body: bytes) -> Callable[[], Awaitable[int]]:
        headers = {
            "Content-Type": "application/rss+xml; charset=utf-8",
            "Link": f'<{self.hub_url}>; rel="hub", <{self.topic}>; rel="self"',
        }
        if sub.secret:
            digest = hmac.new(sub.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"

        def attempt() -> Awaitable[int]:
            return post(sub.callback, body=body, headers=headers, guard=self._guard)

        return attempt

    def _ping(self, target: str) -> Callable[[], Awaitable[int]]:
        if "{feed}" in target:
            url, data = target.replace("{feed}", quote(self.topic, safe="")), None
        else:
            url, data = target, {"hub.mode": "publish", "hub.url": self.topic}

        def attempt() -> Awaitable[int]:
            return post(url, data=data, guard=self._guard)

        return attempt

    async def _with_retries(self, what: str, attempt: Callable[[], Awaitable[int]]) -> None:
        for number, pause in enumerate((*self._retries, None), start=1):
            try:
                status = await attempt()
                if 200 <= status < 300:
                    log.info("websub: %s: HTTP %d", what, status)
                    return
                problem = f"HTTP {status}"
            except FetchError as exc:
                problem = exc.line()
            if pause is None:
                log.error("websub: %s failed %d times, giving up: %s", what, number, problem)
                return
            log.warning("websub: %s: %s (retrying in %g s)", what, problem, pause)
            await asyncio.sleep(pause)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _bad(message: str) -> web.Response:
    return web.Response(status=400, text=message + "\n")
