"""Where a message of migrations is cut, and whose an error position is: pure decisions."""

from __future__ import annotations

from provider.migrations import batches
from provider.migrations.batches import Budget, Layout


def test_the_first_migration_always_fits_however_large() -> None:
    budget = Budget(remaining=0.001, max_bytes=10)
    assert budget.admit(size=1_000, seconds=60.0)


def test_a_message_stops_before_the_byte_cap() -> None:
    budget = Budget(remaining=None, max_bytes=100)
    assert [budget.admit(40, 0.0) for _ in range(4)] == [True, True, False, False]


def test_a_message_stops_where_its_estimate_passes_the_share_of_the_remaining_time() -> None:
    budget = Budget(remaining=10.0, max_bytes=batches.MAX_MESSAGE_BYTES)
    share = 10.0 * batches.DEADLINE_SHARE
    fits = [budget.admit(1, share / 3) for _ in range(3)]
    assert fits == [True, True, True]
    assert not budget.admit(1, share / 3)


def test_without_a_deadline_only_the_bytes_bound_a_message() -> None:
    budget = Budget(remaining=None, max_bytes=batches.MAX_MESSAGE_BYTES)
    assert all(budget.admit(1, 3600.0) for _ in range(100))


def test_an_error_position_names_the_part_and_the_character_of_its_text() -> None:
    layout = Layout()
    layout.add(before_text=10, text=5, after_text=20)  # characters 0-34
    layout.add(before_text=10, text=8, after_text=20)  # characters 35-72
    assert layout.locate(35 + 10 + 3 + 1) == (1, 3)  # 1-based, as the server gives it
    assert layout.locate(1 + 10) == (0, 0)


def test_a_position_in_the_engines_own_sql_falls_outside_the_text() -> None:
    layout = Layout()
    layout.add(before_text=10, text=5, after_text=20)
    index, offset = layout.locate(1 + 20)
    assert index == 0
    assert not 0 <= offset < 5
