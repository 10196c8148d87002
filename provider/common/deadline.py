"""The time an invocation may still spend, so every request is answered in time."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


# Kept for answering, as a share of the invocation's time: a fixed minute would leave
# a 30 s or 60 s function no time at all, and a 15-minute one needs no more than a minute.
MARGIN_SHARE = 0.15
LEAST_MARGIN = 3.0
MOST_MARGIN = 60.0
# Past the hard end nothing starts: crhelper answers FAILED 0.5 s before the timeout,
# and answering and releasing the lock take a round trip or two.
HARD_MARGIN = 2.0


def proportional_margin(remaining: float) -> float:
    """Seconds to keep of ``remaining``: 15 %, at least 3 s and at most 60 s."""
    return min(MOST_MARGIN, max(LEAST_MARGIN, remaining * MARGIN_SHARE))


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock past which work must stop."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: LambdaContextLike, *, margin: float) -> Deadline:
        """The invocation's remaining time less ``margin`` seconds (kept for answering)."""
        return cls.after(context.get_remaining_time_in_millis() / 1000.0 - margin)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def sooner(self, other: Deadline) -> Deadline:
        return self if self.at <= other.at else other

    @property
    def hard(self) -> Deadline:
        """The point past which nothing at all may start (this one, for a plain deadline)."""
        return self


@dataclass(frozen=True)
class InvocationDeadline(Deadline):
    """An invocation's time: no new unit of work (a migration) starts past ``at``, which
    keeps a proportional margin, and none at all past ``hard_at``.

    The first ``expired()`` asked is answered against ``hard_at``: the engine asks it
    before the invocation's first migration, so every invocation applies at least one
    however long connecting took (a resuming cluster), and a run always progresses
    from poll to poll. Every later answer is against ``at``.
    """

    hard_at: float = math.inf
    _asked: list[bool] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def within(cls, remaining: float, *, ends_by: float = math.inf) -> InvocationDeadline:
        """For an invocation with ``remaining`` seconds, none of them spent past ``ends_by``
        (monotonic; the request's give-up point)."""
        now = time.monotonic()
        hard_at = min(now + remaining - HARD_MARGIN, ends_by)
        return cls(min(now + remaining - proportional_margin(remaining), hard_at), hard_at)

    @classmethod
    def for_context(
        cls, context: LambdaContextLike, *, ends_by: float = math.inf
    ) -> InvocationDeadline:
        return cls.within(context.get_remaining_time_in_millis() / 1000.0, ends_by=ends_by)

    def expired(self) -> bool:
        now = time.monotonic()
        if not self._asked:
            self._asked.append(True)
            return now >= self.hard_at
        return now >= self.at

    @property
    def hard(self) -> Deadline:
        return Deadline(self.hard_at)
