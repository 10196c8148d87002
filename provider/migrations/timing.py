"""How long one request of the migrations resource may go on, across crhelper's polls.

CloudFormation waits ``ServiceTimeout`` seconds (an hour unless the resource
sets less) for an answer, then fails the stack on its own with a reason that
says nothing. A run that cannot finish (a migration longer than the
function's timeout, a lock never free) would poll until then, so the request
gives up first: from ``GIVE_UP_SECONDS`` before that timeout (a quarter of
it, for short ones) no invocation runs on; it answers ``FAILED``, saying why.
Each invocation also ends by that point, so one always falls past it and
before CloudFormation's timeout (polls come every minute).

The request's start is the epoch time of its first invocation, which
``CustomResource`` carries in the poll event's data (``started_at``).
"""

from __future__ import annotations

import time

from provider.common.deadline import InvocationDeadline, LambdaContextLike
from provider.common.errors import ProviderError

CLOUDFORMATION_TIMEOUT = 3600  # seconds, unless the resource sets ServiceTimeout
GIVE_UP_SECONDS = 90.0  # more than a poll interval (60 s) plus a poll's start-up


def wall_clock() -> float:
    """Epoch seconds now (the request's start is on this clock: ``time.time``)."""
    return time.time()


def service_timeout(value: int | None) -> float:
    """CloudFormation's timeout for the resource: ``ServiceTimeout``, else an hour."""
    return float(min(max(value or CLOUDFORMATION_TIMEOUT, 1), CLOUDFORMATION_TIMEOUT))


def give_up_at(started_at: float, timeout: int | None) -> float:
    """Epoch seconds from which the request answers ``FAILED`` rather than run on."""
    limit = service_timeout(timeout)
    return started_at + limit - min(GIVE_UP_SECONDS, limit / 4)


def deadline_for(
    context: LambdaContextLike, *, started_at: float, timeout: int | None, now: float | None = None
) -> InvocationDeadline:
    """This invocation's deadline: its own time less a proportional margin, and never past
    the request's give-up point."""
    wall = wall_clock() if now is None else now
    ends_by = time.monotonic() + (give_up_at(started_at, timeout) - wall)
    return InvocationDeadline.for_context(context, ends_by=ends_by)


def check_in_time(
    started_at: float,
    timeout: int | None,
    *,
    remaining: int | None = None,
    now: float | None = None,
) -> None:
    """``ProviderError`` once the request is past its give-up point (``remaining``: how many
    migrations and seeds were still to apply, when known)."""
    wall = wall_clock() if now is None else now
    if wall < give_up_at(started_at, timeout):
        return
    minutes = int(max(0.0, wall - started_at) // 60)
    left = f" with {remaining} still to apply" if remaining is not None else ""
    raise ProviderError(
        f"Gave up after {minutes} min{left}, before CloudFormation's timeout "
        f"({service_timeout(timeout):.0f} s, ServiceTimeout): what is applied stays applied. "
        "Raise the function's timeout or ServiceTimeout, or look for a migration waiting on "
        "a lock, then retry."
    )
