"""A request of the migrations resource gives up before CloudFormation's timeout."""

from __future__ import annotations

import pytest

from provider.common.errors import ProviderError
from provider.migrations import timing

STARTED = 1_000_000.0


def test_an_hour_by_default_less_a_minute_and_a_half() -> None:
    assert timing.give_up_at(STARTED, None) == STARTED + 3600 - 90


def test_service_timeout_sets_the_bound_and_a_short_one_keeps_a_quarter() -> None:
    assert timing.give_up_at(STARTED, 1200) == STARTED + 1200 - 90
    assert timing.give_up_at(STARTED, 120) == STARTED + 120 - 30


def test_within_the_bound_nothing_is_said() -> None:
    timing.check_in_time(STARTED, None, now=STARTED + 3000)


def test_past_the_bound_the_reason_says_when_and_what_to_change() -> None:
    with pytest.raises(ProviderError) as caught:
        timing.check_in_time(STARTED, None, remaining=3, now=STARTED + 3520)
    reason = caught.value.reason
    assert reason.startswith("Gave up after 58 min with 3 still to apply, before CloudFormation's")
    assert "ServiceTimeout" in reason
    assert len(reason) <= 240  # whole in a CloudFormation reason


def test_an_invocation_ends_by_the_give_up_point() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    deadline = timing.deadline_for(Context(), started_at=STARTED, timeout=None, now=STARTED + 3500)
    assert deadline.hard.remaining() == pytest.approx(10, abs=0.5)
