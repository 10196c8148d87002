"""The schema-diff composite action: its own steps' scripts, run by bash as a runner would.

``setup-python`` and the install are the runner's business; the ``diff`` and
``comment`` steps run here as written in ``action.yml``, with the inputs in
their environment as Actions puts them, ``aurora-express`` and ``python``
being this checkout's, real databases on both sides and ``FakeGitHub`` as the
API.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.pr_comment import MARKER
from tests.support.github_fake import NUMBER, REPO, FakeGitHub
from tests.support.paths import ROOT

ACTION = ROOT / ".github" / "actions" / "schema-diff" / "action.yml"


def action() -> dict[str, Any]:
    return dict(yaml.safe_load(ACTION.read_text()))


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in action()["runs"]["steps"] if s.get("id") == step_id)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """``aurora-express`` and ``python`` as this checkout's (what the install step provides)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, argv in (
        ("aurora-express", f'"{sys.executable}" -m aurora_express.cli'),
        ("python", f'"{sys.executable}"'),
    ):
        shim = folder / name
        shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec {argv} "$@"\n')
        shim.chmod(0o755)
    return folder


@pytest.fixture
def two_databases(pg: EmbeddedPostgres) -> Iterator[Callable[[str], tuple[str, str]]]:
    made: list[str] = []

    def make(change: str) -> tuple[str, str]:
        names = [pg.create_database(), pg.create_database()]
        made.extend(names)
        for name, sql in zip(names, ("", change), strict=True):
            with pg.admin(name) as conn:
                conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
                if sql:
                    conn.execute(sql)
        # URLs: the action splits each input on spaces, as a shell would.
        base, head = (
            f"--dsn postgresql://postgres@/{n}?host={pg.socket_dir}&port={pg.port}" for n in names
        )
        return base, head

    yield make
    for name in made:
        pg.drop_database(name)


def run_steps(
    bin_dir: Path, tmp_path: Path, github: FakeGitHub, inputs: dict[str, str]
) -> dict[str, str]:
    """The ``diff`` and ``comment`` steps, in order; the outputs they wrote."""
    output = tmp_path / "github-output"
    output.write_text("")
    runner_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.url,
        **{k: v for k, v in os.environ.items() if k.startswith(("AWS_", "HOME"))},
    }
    for step_id, env in (
        ("diff", {"BASE": inputs["base"], "HEAD": inputs["head"]}),
        (
            "comment",
            {
                "GITHUB_TOKEN": "ghs_" + "forTheActionTest",
                "BASE_LABEL": inputs.get("base-label") or inputs["base"],
                "HEAD_LABEL": inputs.get("head-label") or inputs["head"],
                "PR_NUMBER": str(NUMBER),
            },
        ),
    ):
        spec = step(step_id)
        assert spec["shell"] == "bash"
        assert set(spec["env"]) == set(env)
        done = subprocess.run(
            ["bash", "-e", "-c", spec["run"]],
            env={**runner_env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)


def test_the_action_is_composite_and_passes_inputs_only_through_the_environment() -> None:
    spec = action()
    assert spec["runs"]["using"] == "composite"
    for entry in spec["runs"]["steps"]:
        assert "${{" not in entry.get("run", "")
        assert "uses" in entry or entry["shell"] == "bash"
    used = set(re.findall(r"inputs\.([a-z-]+)", ACTION.read_text()))
    assert used <= set(spec["inputs"])
    outputs = set(re.findall(r"steps\.(\w+)\.outputs", ACTION.read_text()))
    assert outputs <= {entry.get("id") for entry in spec["runs"]["steps"]}


def test_the_action_comments_the_diff_then_leaves_it_alone_when_nothing_changed(
    bin_dir: Path,
    tmp_path: Path,
    two_databases: Callable[[str], tuple[str, str]],
) -> None:
    base, head = two_databases("ALTER TABLE items ADD COLUMN name text")
    inputs = {"base": base, "head": head}
    with FakeGitHub() as github:
        first = run_steps(bin_dir, tmp_path, github, {**inputs, "base-label": "main"})
        [ours] = [c for c in github.comments if c["body"].startswith(MARKER)]
        assert "+  column name text" in ours["body"]
        assert first["different"] == "true"
        assert first["action"] == "create"
        again = run_steps(bin_dir, tmp_path, github, {**inputs, "base-label": "main"})
        assert again["action"] == "none"
        assert len([r for r in github.requests if r.method != "GET"]) == 1
