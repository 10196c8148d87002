"""sqitch projects: the plan's order, deploy scripts only."""

from __future__ import annotations

import hashlib

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import Layout, LayoutError
from tests.support.layouts import EXAMPLES, files

PLANNER = "2025-03-01T09:30:00Z Ada <ada@example.com>"


def project(plan_lines: str, scripts: dict[str, str]) -> dict[str, str | bytes]:
    plan = f"%syntax-version=1.0.0\n%project=app\n\n{plan_lines}"
    return {"sqitch.plan": plan, **{f"deploy/{k}.sql": v for k, v in scripts.items()}}


def test_the_plan_is_the_order_and_only_deploy_scripts_run() -> None:
    source = files(
        {
            **project(f"b {PLANNER}\na [b] {PLANNER}\n", {"a": "SELECT 'a';", "b": "SELECT 'b';"}),
            "revert/a.sql": "DROP TABLE everything;",
            "verify/a.sql": "SELECT 1/0;",
        }
    )
    loaded = layouts.load(source)
    assert [m.name for m in loaded] == ["deploy/b.sql", "deploy/a.sql"]
    assert [m.version for m in loaded] == ["b", "a"]


def test_a_reworked_change_runs_its_tagged_script_first_then_the_new_one() -> None:
    plan = f"users {PLANNER}\n@v1 {PLANNER}\n\nusers [users@v1] {PLANNER}\n"
    source = files(project(plan, {"users@v1": "SELECT 'old';", "users": "SELECT 'new';"}))
    loaded = layouts.load(source)
    assert [m.name for m in loaded] == ["deploy/users@v1.sql", "deploy/users.sql"]
    assert [m.version for m in loaded] == ["users", "users#2"]


def test_the_change_id_is_sqitchs() -> None:
    source = files(project(f"users {PLANNER} # Adds users.\n", {"users": "SELECT 1;"}))
    (m,) = layouts.load(source)
    info = (
        b"project app\nchange users\nplanner Ada <ada@example.com>\n"
        b"date 2025-03-01T09:30:00Z\n\nAdds users."
    )
    expected = hashlib.sha1(b"change %d\x00" % len(info) + info, usedforsecurity=False)
    assert m.tool is not None and m.tool.extra["change_id"] == expected.hexdigest()


def test_a_psql_meta_command_fails_naming_the_file_and_line() -> None:
    source = files(
        project(f"users {PLANNER}\n", {"users": "BEGIN;\n\\set ON_ERROR_STOP 1\nCOMMIT;"})
    )
    with pytest.raises(LayoutError, match=r"deploy/users\.sql line 2: the psql meta-command \\set"):
        layouts.load(source)


def test_a_dependency_not_planned_before_fails() -> None:
    source = files(project(f"a [b] {PLANNER}\nb {PLANNER}\n", {"a": "", "b": ""}))
    with pytest.raises(LayoutError, match=r"sqitch\.plan line 4: a requires b"):
        layouts.load(source)


def test_a_plan_without_project_fails() -> None:
    with pytest.raises(LayoutError, match="no %project"):
        layouts.load(files({"sqitch.plan": f"%syntax-version=1.0.0\n\nusers {PLANNER}\n"}))


def test_a_missing_deploy_script_fails_naming_it() -> None:
    with pytest.raises(LayoutError, match=r"deploy/users\.sql is missing"):
        layouts.load(files(project(f"users {PLANNER}\n", {})))


def test_a_conf_that_moves_the_folders_fails() -> None:
    source = files(
        {
            **project(f"users {PLANNER}\n", {"users": "SELECT 1;"}),
            "sqitch.conf": "[core]\n\tengine = pg\n\ttop_dir = db\n",
        }
    )
    with pytest.raises(LayoutError, match=r"sqitch\.conf sets top_dir"):
        layouts.load(source)


def test_a_plan_marks_the_folder_as_sqitchs() -> None:
    assert layouts.detect(files(project(f"u {PLANNER}\n", {"u": ""}))) is Layout.SQITCH


def test_change_ids_match_sqitch_for_tags_reworks_uri_and_notes() -> None:
    """The ids ``sqitch plan --format raw`` (sqitch 1.3.1) prints for this plan."""
    plan = (
        (EXAMPLES / "sqitch" / "sqitch.plan").read_text()
        + "@v1.1 2025-03-03T08:05:00Z Ada Lovelace <ada@example.com> # Tag v1.1.\n\n"
        + "users [users@v1.1] 2025-03-04T08:00:00Z Ada Lovelace <ada@example.com>"
        + " # Reworks users.\\nSecond line.\n"
    )
    scripts = {p.name: p.read_text() for p in (EXAMPLES / "sqitch" / "deploy").glob("*.sql")}
    source = files(
        {
            "sqitch.plan": plan,
            **{f"deploy/{n}": t for n, t in scripts.items()},
            "deploy/users@v1.1.sql": scripts["users.sql"],
        }
    )
    loaded = layouts.load(source)
    assert [(m.name, m.tool.extra["change_id"] if m.tool else "") for m in loaded] == [
        ("deploy/users@v1.1.sql", "432cc3c0197fccb56f37911559d9d2e90257091f"),
        ("deploy/posts.sql", "12877117cacee3f9301ea5966670bf2fb39ea956"),
        ("deploy/posts_index.sql", "a06584b181cc1ff0cbc1350134ea7fd8455cacd5"),
        ("deploy/users.sql", "de9d09e107f1b382eac30b160d0d5e5b1a5be841"),
    ]
