"""The HTML statistics page: downloads per day (a bar chart) and per episode.

Only served when ``[serve] stats_token`` is set, and only to a request that
carries it (``?token=...`` or ``Authorization: Bearer ...``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiohttp import hdrs, web

from mediahub.config import Config
from mediahub.publish.links import Links
from mediahub.publish.templating import environment, page_globals
from mediahub.serve.stats import per_day, per_episode
from mediahub.store import Store

DAYS_SHOWN = 30


def _token_of(request: web.Request) -> str:
    auth = request.headers.get(hdrs.AUTHORIZATION, "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query.get("token", "")


def stats_routes(
    config: Config, store: Callable[[], Store], clock: Callable[[], datetime]
) -> list[web.RouteDef]:
    """The /stats route (none if no token is configured)."""
    token = config.serve.stats_token
    if not token:
        return []
    env = environment(config.paths.templates, auto_reload=True)

    async def page(request: web.Request) -> web.Response:
        if not hmac.compare_digest(_token_of(request).encode(), token.encode()):
            raise web.HTTPForbidden(text="stats: wrong or missing token (see [serve] stats_token)")
        today = clock().astimezone(UTC).date()
        since = today - timedelta(days=DAYS_SHOWN - 1)
        counts = store().download_counts()
        daily = per_day(counts)
        days = [
            (
                (since + timedelta(days=n)).isoformat(),
                daily.get((since + timedelta(days=n)).isoformat(), 0),
            )
            for n in range(DAYS_SHOWN)
        ]
        html = env.get_template("stats.html").render(
            **page_globals(config.show, Links(config.show.url), topics=store().has_sources()),
            days=days,
            peak=max((n for _, n in days), default=0),
            episodes=list(per_episode(counts).items()),
            total=sum(n for _, n in days),
            all_time=sum(c.downloads for c in counts),
        )
        return web.Response(
            text=html,
            content_type="text/html",
            headers={hdrs.CACHE_CONTROL: "private, no-store", "X-Robots-Tag": "noindex"},
        )

    return [web.get("/stats", page)]
