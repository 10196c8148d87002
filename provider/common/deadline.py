"""The time an invocation may still spend, so every request is answered in time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


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
