"""An invocation's time: a proportional margin, a hard end, and one start always allowed."""

from __future__ import annotations

import time

import pytest

from provider.common.deadline import Deadline, InvocationDeadline, proportional_margin


@pytest.mark.parametrize(
    ("remaining", "margin"), [(10, 3.0), (30, 4.5), (60, 9.0), (300, 45.0), (900, 60.0)]
)
def test_the_margin_is_a_share_of_the_time_there_is_between_3_and_60_seconds(
    remaining: float, margin: float
) -> None:
    assert proportional_margin(remaining) == pytest.approx(margin)


@pytest.mark.parametrize("remaining", [30.0, 60.0])
def test_a_30_or_60_second_function_has_time_to_start_work(remaining: float) -> None:
    deadline = InvocationDeadline.within(remaining)
    assert not deadline.expired()
    assert deadline.remaining() > remaining / 2


def test_the_first_start_may_use_the_margin_but_later_ones_may_not() -> None:
    now = time.monotonic()
    deadline = InvocationDeadline(at=now - 1, hard_at=now + 60)
    assert not deadline.expired()  # the invocation's first migration
    assert deadline.expired()  # every later one


def test_nothing_starts_past_the_hard_end_not_even_the_first() -> None:
    now = time.monotonic()
    deadline = InvocationDeadline(at=now - 2, hard_at=now - 1)
    assert deadline.expired()
    assert deadline.expired()


def test_the_hard_end_keeps_two_seconds_and_never_passes_ends_by() -> None:
    deadline = InvocationDeadline.within(30)
    assert deadline.hard.remaining() == pytest.approx(28, abs=0.5)
    capped = InvocationDeadline.within(900, ends_by=time.monotonic() + 10)
    assert capped.hard.remaining() == pytest.approx(10, abs=0.5)
    assert capped.at <= capped.hard_at


def test_a_plain_deadline_is_its_own_hard_end() -> None:
    deadline = Deadline.after(5)
    assert deadline.hard is deadline
