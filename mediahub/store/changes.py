"""A token that changes whenever the followed sources do, readable without the Store.

Topic pages and the blogroll are made from the sources table (and the items
stored with it), which no file on disk reflects. Triggers on that table give a
one-row table a new random token in the same transaction as every insert,
update or delete of a source, whoever makes it (the aggregation cycle's
writer, ``sources add``, a hand-made SQL session). A build
records the token it saw before it read the sources; the no-change check of
``mediahub build`` (publish/stamp.py) reads it again here, with nothing else of
the store imported, and any difference means "not known to be unchanged".

A token is random rather than a counter, so that a database made anew (the
old one moved away as a cache) cannot repeat a value a stamp recorded.
"""

from __future__ import annotations

# The sources area's migration 3 (store/sources.py): the table, its first token, the triggers.
MIGRATION = """
CREATE TABLE sources_token (token TEXT NOT NULL);
INSERT INTO sources_token VALUES (lower(hex(randomblob(16))));
CREATE TRIGGER sources_token_insert AFTER INSERT ON sources
    BEGIN UPDATE sources_token SET token = lower(hex(randomblob(16))); END;
CREATE TRIGGER sources_token_update AFTER UPDATE ON sources
    BEGIN UPDATE sources_token SET token = lower(hex(randomblob(16))); END;
CREATE TRIGGER sources_token_delete AFTER DELETE ON sources
    BEGIN UPDATE sources_token SET token = lower(hex(randomblob(16))); END
"""

QUERY = "SELECT token FROM sources_token"


def read_token(database: str) -> str | None:
    """The sources token of the database at ``database``, read-only; None if there is
    no such database, it predates the token, or it cannot be read right now."""
    import os
    import sqlite3

    # A URI, for mode=ro (never create or migrate): escape what a URI path cannot hold.
    path = os.path.abspath(database).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    try:
        db = sqlite3.connect(f"file://{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = db.execute(QUERY).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return str(row[0]) if row else None
