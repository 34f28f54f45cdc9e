"""The WebSub area of the store: subscribers of the built-in hub and their leases, and
our own subscriptions at the hubs of followed sources (shared by a server's workers)."""

from __future__ import annotations

from datetime import datetime

from mediahub.model import SourceSubscription, Subscription
from mediahub.store.base import StoreBase

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE websub_subscriptions (
        topic TEXT NOT NULL,
        callback TEXT NOT NULL,
        secret TEXT,
        expires TEXT NOT NULL,
        PRIMARY KEY (topic, callback)
    )
    """,
    """
    CREATE TABLE websub_subscribed (
        token TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        topic TEXT NOT NULL,
        hub TEXT NOT NULL,
        secret TEXT NOT NULL,
        asked TEXT NOT NULL,
        expires TEXT,
        denied TEXT
    );
    CREATE INDEX websub_subscribed_source ON websub_subscribed (source)
    """,
)


class WebSubQueries(StoreBase):
    """Typed queries on the hub's subscriptions (one base of Store)."""

    def save_subscription(self, sub: Subscription) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO websub_subscriptions VALUES (?, ?, ?, ?) ON CONFLICT (topic, callback)"
                " DO UPDATE SET secret = excluded.secret, expires = excluded.expires",
                (sub.topic, sub.callback, sub.secret, sub.expires.isoformat()),
            )

    def remove_subscription(self, topic: str, callback: str) -> bool:
        with self._transaction() as db:
            return (
                db.execute(
                    "DELETE FROM websub_subscriptions WHERE topic = ? AND callback = ?",
                    (topic, callback),
                ).rowcount
                > 0
            )

    def active_subscriptions(self, topic: str, now: datetime) -> list[Subscription]:
        """Subscriptions whose lease has not run out; expired ones are deleted."""
        with self._transaction() as db:
            db.execute("DELETE FROM websub_subscriptions WHERE expires <= ?", (now.isoformat(),))
            rows = db.execute(
                "SELECT topic, callback, secret, expires FROM websub_subscriptions"
                " WHERE topic = ? ORDER BY callback",
                (topic,),
            ).fetchall()
        return [Subscription(t, c, s, datetime.fromisoformat(e)) for t, c, s, e in rows]

    # -- our subscriptions at sources' hubs ------------------------------------

    def save_subscribed(self, sub: SourceSubscription, replace_source: bool = False) -> None:
        """Store (or update, by token) one of our subscriptions; ``replace_source``
        first forgets the source's earlier ones (a new subscription supersedes them)."""
        with self._transaction() as db:
            if replace_source:
                db.execute("DELETE FROM websub_subscribed WHERE source = ?", (sub.source,))
            db.execute(
                "INSERT OR REPLACE INTO websub_subscribed VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sub.token,
                    sub.source,
                    sub.topic,
                    sub.hub,
                    sub.secret,
                    sub.asked.isoformat(),
                    sub.expires.isoformat() if sub.expires else None,
                    sub.denied,
                ),
            )

    def subscribed(self, token: str | None = None) -> list[SourceSubscription]:
        """Our subscriptions (only the one with ``token`` when given)."""
        query = "SELECT * FROM websub_subscribed"
        rows = self._db.execute(
            query + (" WHERE token = ?" if token is not None else " ORDER BY source"),
            (token,) if token is not None else (),
        ).fetchall()
        return [
            SourceSubscription(
                source=source,
                topic=topic,
                hub=hub,
                token=token_,
                secret=secret,
                asked=datetime.fromisoformat(asked),
                expires=datetime.fromisoformat(expires) if expires else None,
                denied=denied,
            )
            for token_, source, topic, hub, secret, asked, expires, denied in rows
        ]
