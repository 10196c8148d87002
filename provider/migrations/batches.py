"""Pending migrations in one simple-query message: where to cut it, and who an error belongs to.

PostgreSQL runs a simple-query message statement by statement and skips the
rest at the first error, so a message of ``BEGIN ... COMMIT`` blocks keeps
today's guarantees (those before a failure committed, the failing one rolled
back, none after it run) in one round trip. This module holds the pure
decisions: how many migrations go in a message (a byte cap, and the
invocation's remaining time estimated from sizes), and, from an error
position (characters into the whole message), which migration failed and on
which character of its text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from provider.migrations.model import Migration

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # SQL text held for one message, at most
# A conservative cost model (a slow cluster, a cold cache): what a migration may take.
SECONDS_PER_MIGRATION = 0.025
SECONDS_PER_STATEMENT = 0.005
BYTES_PER_SECOND = 1_000_000
DEADLINE_SHARE = 0.5  # a message is sized to end within this share of the remaining time


def estimate(m: Migration) -> float:
    """Seconds ``m`` may take, from its size alone (an upper-ish guess, not a promise).

    Statements are counted by their semicolons (one in a string counts too: the guess
    only grows), so that no split, and no parser, is needed to size a message.
    """
    return (
        SECONDS_PER_MIGRATION
        + SECONDS_PER_STATEMENT * max(1, m.sql.count(";"))
        + len(m.sql) / BYTES_PER_SECOND
    )


class Budget:
    """How many migrations go in one message: at least one, then while the bytes stay within
    ``max_bytes`` and the estimated seconds within ``DEADLINE_SHARE`` of the ``remaining``
    time (None: no deadline)."""

    def __init__(self, remaining: float | None, max_bytes: int) -> None:
        self.seconds = None if remaining is None else remaining * DEADLINE_SHARE
        self.max_bytes = max_bytes
        self.count, self.bytes, self.spent = 0, 0, 0.0

    def admit(self, size: int, seconds: float) -> bool:
        """Whether one more migration of ``size`` bytes and ``seconds`` fits; counts it if so."""
        if self.count and (
            self.bytes + size > self.max_bytes
            or (self.seconds is not None and self.spent + seconds > self.seconds)
        ):
            return False
        self.count, self.bytes, self.spent = self.count + 1, self.bytes + size, self.spent + seconds
        return True


@dataclass
class Layout:
    """Where each migration's part and its file's text start in a message (in characters)."""

    starts: list[int] = field(default_factory=list)  # each part's first character
    texts: list[int] = field(default_factory=list)  # each file's first character
    length: int = 0

    def add(self, before_text: int, text: int, after_text: int) -> None:
        """Record a part of ``before_text + text + after_text`` characters, appended."""
        self.starts.append(self.length)
        self.texts.append(self.length + before_text)
        self.length += before_text + text + after_text

    def locate(self, position: int) -> tuple[int, int]:
        """The part holding 1-based ``position`` and that character's offset in its file
        (negative, or past the text, when it falls in the engine's SQL around it)."""
        offset = position - 1
        index = max(0, bisect.bisect_right(self.starts, offset) - 1)
        return index, offset - self.texts[index]
