"""The messages a connection sends, from libpq's own trace: each costs one round trip."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq

from provider.migrations import history


@contextmanager
def messages(conn: psycopg.Connection[Any]) -> Iterator[list[str]]:
    """Collects, when the block ends, one entry per round trip ``conn`` made in it: a simple
    query's text, or ``"<extended>"`` for a Parse/Bind/Execute ended by Sync."""
    sent: list[str] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            conn.pgconn.untrace()
            trace.seek(0)
            in_query = False
            for line in trace:
                fields = line.split("\t", 3)
                if len(fields) >= 3 and fields[0] in ("F", "B") and fields[1].isdigit():
                    in_query = fields[0] == "F" and fields[2] == "Query"
                    if in_query:
                        sent.append(fields[3])
                    elif fields[0] == "F" and fields[2].startswith("Sync"):
                        sent.append("<extended>")
                elif in_query:  # the query's text goes on over lines
                    sent[-1] += line


def migrations_per_message(sent: list[str]) -> list[int]:
    """How many migrations each message that runs some carries (each marks its start)."""
    counts = [m.count(history.MARK_STARTED) for m in sent]
    return [c for c in counts if c]
