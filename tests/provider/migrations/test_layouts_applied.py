"""Every sample folder, shaped as its tool writes it, applied to a real database and re-run."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import from_directory
from tests.support.migrations import EXAMPLES, history, tables

Conn = psycopg.Connection[Any]


@pytest.mark.parametrize(
    ("folder", "count"),
    [
        ("flyway", 6),
        ("drizzle", 2),
        ("drizzle-folders", 2),
        ("dbmate", 3),
        ("golang-migrate", 2),
        ("plain", 3),
    ],
)
def test_a_sample_folder_applies_then_reruns_as_a_no_op(
    conn: Conn, folder: str, count: int
) -> None:
    the_set = MigrationSet(
        layouts.load(from_directory(EXAMPLES / folder)),
        layouts.seeds(from_directory(EXAMPLES / "seeds")),
    )
    first = engine.migrate(conn, the_set, Options())
    assert first.applied_count == count
    assert len(first.seeds_applied) == 1
    assert {"users", "posts"} <= tables(conn)
    assert conn.execute("SELECT name FROM users").fetchall() == [("Ada",)]
    again = engine.migrate(conn, the_set, Options())
    assert (again.applied, again.seeds_applied) == ([], [])
    assert len(history(conn)) == count + 1


def test_flyway_sample_applies_1_2_9_before_1_2_10(conn: Conn) -> None:
    the_set = MigrationSet(layouts.load(from_directory(EXAMPLES / "flyway")))
    result = engine.migrate(conn, the_set, Options())
    names = [a.name for a in result.applied]
    assert names.index("V1.2.9__create_posts.sql") < names.index("V1.2.10__posts_touch_trigger.sql")
    assert names[-1] == "R__user_post_counts.sql"
    assert result.latest_version == "2"
