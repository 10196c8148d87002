"""Every refusal happens while reading (before anything runs) and says what to change."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import LayoutError
from tests.support.layouts import files

UP = "-- +goose Up\nSELECT 1;\n"
LIQUIBASE = "--liquibase formatted sql\n--changeset ada:1{attrs}\nSELECT 1;\n"
PLAN = "%project=app\n\nusers 2025-03-01T09:30:00Z Ada <a@example.com>\n"

CASES = [
    # (folder, layout, the file or changeset named, what to change)
    ({"1_a.sql": "-- +goose ENVSUB ON\n" + UP}, "goose", "1_a.sql line 1", "write the values"),
    ({"1_a.sql": UP, "2_b.go": "package m"}, "goose", "2_b.go", "rewrite it as a .sql"),
    ({"1_a.sql": "SELECT 0;\n" + UP}, "goose", "1_a.sql line 1", "move the Up line above"),
    ({"a.sql": UP}, "plain", "a.sql", "set Layout to goose"),
    (
        {"V1__a.sql": "SELECT ${x};"},
        "flyway",
        "V1__a.sql line 1",
        "give it a value in Placeholders",
    ),
    ({"V1__a.sql": "", "afterVersioned.sql": ""}, "flyway", "afterVersioned.sql", "remove it"),
    (
        {"c.sql": LIQUIBASE.format(attrs=" context:dev")},
        "liquibase",
        "(changeset ada:1)",
        "remove context:",
    ),
    (
        {"c.sql": LIQUIBASE.format(attrs=" labels:x")},
        "liquibase",
        "(changeset ada:1)",
        "remove labels:",
    ),
    (
        {"sqitch.plan": PLAN, "deploy/users.sql": "\\i other.sql\n"},
        "sqitch",
        "deploy/users.sql line 1",
        "write it as SQL or remove it",
    ),
    (
        {"1_a.sql": "SELECT 1;", "atlas.sum": "h1:x\n"},
        "atlas",
        "atlas.sum",
        "run 'atlas migrate hash'",
    ),
    (
        {
            "migration_lock.toml": 'provider = "postgresql"',
            "1_a/migration.sql": "VACUUM; SELECT 1;",
        },
        "prisma",
        "1_a/migration.sql",
        "move that statement to a migration of its own",
    ),
    ({"a_b.sql": "", "1_a.sql": ""}, "sqlx", "a_b.sql", "rename it"),
    ({"V1__a.sql": b"SELECT '\x00';"}, "flyway", "V1__a.sql line 1", "remove it"),
    ({"1_a.sql": "SELECT 1;", "2_b.sql": "SELECT 2;"}, "auto", "1_a.sql", "set Layout to supabase"),
    ({"V1__a.sql": "", "2_b.sql": UP}, "auto", "V1__a.sql", "Set Layout to the tool"),
]


@pytest.mark.parametrize(("folder", "layout", "named", "fix"), CASES)
def test_a_refusal_names_the_file_and_what_to_change(
    folder: dict[str, str | bytes], layout: str, named: str, fix: str
) -> None:
    with pytest.raises(LayoutError) as refused:
        layouts.read(files(folder), layout)
    assert named in refused.value.reason
    assert fix in refused.value.reason
