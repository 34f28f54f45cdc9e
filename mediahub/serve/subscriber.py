"""WebSub subscriber: aggregated sources that advertise a hub push new items to us.

When ``serve.public_url`` is set (a hub must be able to reach us), after each
aggregation cycle every source whose feed names a hub (``atom:link rel=hub``)
is subscribed: a ``hub.mode=subscribe`` POST with a callback of our own and a
fresh secret. The hub verifies the intent with a GET the callback answers by
echoing ``hub.challenge`` (only for a subscription we asked for); its pushes
are accepted only with a valid ``X-Hub-Signature`` HMAC of the body, then parsed
and stored like a fetched feed, and the topic pages rebuilt at once. Leases are
renewed before they end. Polling goes on at the source's usual schedule, so a
hub that stops pushing, refuses us or loses the subscription costs nothing but
speed. Subscriptions live in the store, so any of a server's worker processes
can answer the hub's verification and take its pushes, and a restarted server
keeps them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from aiohttp import web

from mediahub.aggregate.fetch import post
from mediahub.aggregate.guard import NetworkGuard
from mediahub.aggregate.parse import parse_feed
from mediahub.errors import FetchError, MediahubError
from mediahub.model import ParsedFeed, SourceState, SourceSubscription
from mediahub.store import Store

log = logging.getLogger("mediahub.websub")

CALLBACK = "/websub/callback/{token}"
LEASE = 7 * 24 * 3600  # asked for; the hub decides
RENEW_BEFORE = timedelta(hours=12)
RETRY_AFTER = timedelta(hours=1)  # after a refused or unanswered subscription
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384}
_DIGESTS["sha512"] = hashlib.sha512


class Subscriber:
    """Subscriptions, the callback endpoint and what a push does."""

    def __init__(
        self,
        public_url: str,
        guard: NetworkGuard,
        store: Callable[[], Store],  # opens a new connection
        clock: Callable[[], datetime],
        on_new_items: Callable[[datetime], Awaitable[object]],
        max_bytes: int = 15 * 1024 * 1024,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self._guard = guard
        self._store = store
        self._clock = clock
        self._on_new_items = on_new_items
        self._max_bytes = max_bytes
        # (source, outcome) of every push this process received, oldest first:
        # "stored N" or "refused: why"
        self.pushes: list[tuple[str, str]] = []

    @property
    def subscriptions(self) -> dict[str, SourceSubscription]:
        """Every subscription of this hub, by token (from the store: all workers share it)."""
        with self._store() as store:
            return {sub.token: sub for sub in store.subscribed()}

    def _get(self, token: str) -> SourceSubscription | None:
        with self._store() as store:
            found = store.subscribed(token)
        return found[0] if found else None

    def _save(self, sub: SourceSubscription, new: bool = False) -> None:
        with self._store() as store:
            store.save_subscribed(sub, replace_source=new)

    def routes(self) -> list[web.RouteDef]:
        return [web.get(CALLBACK, self.verify), web.post(CALLBACK, self.receive)]

    # -- subscribing ---------------------------------------------------------

    async def maintain(self, states: list[SourceState]) -> None:
        """Subscribe sources that advertise a hub; renew leases that end soon."""
        now = self._clock()
        current = {s.source: s for s in self.subscriptions.values()}
        for state in states:
            if state.hub is None or state.gone or state.paused:
                continue
            known = current.get(state.source.url)
            if known is not None and known.hub == state.hub and not _due(known, now):
                continue
            await self.subscribe(state.source.url, state.fetch_url, state.hub)

    async def subscribe(self, source: str, topic: str, hub: str) -> SourceSubscription | None:
        token = secrets.token_urlsafe(18)
        sub = SourceSubscription(
            source, topic, hub, token, secrets.token_urlsafe(32), self._clock()
        )
        self._save(sub, new=True)  # before asking: the hub may verify at once
        form = {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.callback": self.public_url + CALLBACK.format(token=token),
            "hub.secret": sub.secret,
            "hub.lease_seconds": str(LEASE),
        }
        try:
            status = await post(hub, data=form, guard=self._guard)
        except FetchError as exc:
            log.warning("websub: cannot subscribe to %s at %s: %s", topic, hub, exc.line())
            self._save(replace(sub, denied=exc.line()))
            return None
        if status not in (202, 204, 200):
            log.warning("websub: hub %s refused %s: HTTP %d", hub, topic, status)
            self._save(replace(sub, denied=f"HTTP {status}"))
            return None
        log.info("websub: asked %s for pushes of %s", hub, topic)
        return sub

    # -- the callback --------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """GET: the hub checks we asked (echo the challenge) or tells us it said no."""
        sub = self._get(request.match_info["token"])
        query = request.query
        mode = query.get("hub.mode", "")
        if sub is None or query.get("hub.topic") != sub.topic:
            return web.Response(status=404, text="no such subscription\n")
        if mode == "denied":
            reason = query.get("hub.reason", "no reason given")
            self._save(replace(sub, denied=reason))
            log.warning("websub: %s denied %s: %s", sub.hub, sub.topic, reason)
            return web.Response(text="noted\n")
        if mode == "unsubscribe":
            # We only unsubscribe by letting leases lapse; an unsubscribe we did not ask for
            # (someone else's doing) is refused.
            return web.Response(status=404, text="not asked for\n")
        if mode != "subscribe" or "hub.challenge" not in query:
            return web.Response(status=400, text="hub.mode and hub.challenge expected\n")
        try:
            lease = int(query.get("hub.lease_seconds", LEASE))
        except ValueError:
            lease = LEASE
        expires = self._clock() + timedelta(seconds=max(60, lease))
        self._save(replace(sub, expires=expires, denied=None))
        log.info("websub: %s verified pushes of %s until %s", sub.hub, sub.topic, expires)
        return web.Response(text=query["hub.challenge"])

    async def receive(self, request: web.Request) -> web.Response:
        """POST: a push. Stored only with a valid signature; answered 2xx either way."""
        sub = self._get(request.match_info["token"])
        if sub is None or sub.expires is None:
            return web.Response(status=410, text="not subscribed\n")
        body = await request.content.read(self._max_bytes + 1)
        if len(body) > self._max_bytes:
            return self._refused(sub, f"body over {self._max_bytes} bytes", 413)
        if not _signed(request.headers.get("X-Hub-Signature", ""), sub.secret, body):
            # The spec: ignore the message, but acknowledge it (no oracle for forgers).
            return self._refused(sub, "missing or wrong X-Hub-Signature", 202)
        now = self._clock()
        content_type = request.headers.get("Content-Type")
        try:
            feed = await asyncio.to_thread(parse_feed, body, sub.topic, content_type)
            new = await asyncio.to_thread(self._store_items, sub.source, feed, now)
        except MediahubError as exc:
            return self._refused(sub, exc.line(), 202)
        self.pushes.append((sub.source, f"stored {new}"))
        log.info("websub: push for %s: %d new items", sub.source, new)
        if new:
            await self._on_new_items(now)
        return web.Response(status=204)

    def _store_items(self, source: str, feed: ParsedFeed, now: datetime) -> int:
        with self._store() as store:  # a connection of this thread's own
            return store.save_items(source, feed, now)

    def _refused(self, sub: SourceSubscription, why: str, status: int) -> web.Response:
        self.pushes.append((sub.source, f"refused: {why}"))
        log.warning("websub: push for %s ignored: %s", sub.source, why)
        return web.Response(status=status, text=f"ignored: {why}\n")


def _due(sub: SourceSubscription, now: datetime) -> bool:
    if sub.denied is not None or sub.expires is None:
        return now - sub.asked >= RETRY_AFTER
    return sub.expires - now <= RENEW_BEFORE


def _signed(header: str, secret: str, body: bytes) -> bool:
    method, _, signature = header.partition("=")
    digest = _DIGESTS.get(method.strip().lower())
    if digest is None or not signature:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())
