"""The WebSub area of the store: subscribers of the built-in hub and their leases."""

from __future__ import annotations

from datetime import datetime

from mediahub.model import Subscription
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
