"""Exit codes as a shell script sees them: the CLI run as a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.secret_scan import record_output


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a process; its output goes to the suite's secret scan too."""
    done = subprocess.run(
        [sys.executable, "-m", "aurora_express.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    test_id = os.environ.get("PYTEST_CURRENT_TEST", "tests/aurora_express/cli/test_exit_codes.py")
    record_output(test_id, "CLI output", done.stdout + done.stderr)
    return done


def test_success_is_0() -> None:
    done = run("plan", "examples/migrations")
    assert (done.returncode, done.stderr) == (0, "")
    assert "migrate would succeed" in done.stdout


def test_a_usage_error_is_2_with_usage_on_stderr() -> None:
    done = run("migrate", "examples/migrations")
    assert done.returncode == 2
    assert "one of the arguments --cluster --dsn --local is required" in done.stderr


def test_a_bad_path_is_2() -> None:
    done = run("plan", "no/such/folder")
    assert done.returncode == 2
    assert done.stderr == "aurora-express: error: no/such/folder: no such folder (or .zip file)\n"


def test_a_failure_is_1_with_one_line_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "V1.0__b.sql").write_text("SELECT 2;")
    done = run("plan", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("aurora-express: error: ")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["", "migrate", "plan", "token", "psql", "demo"])
def test_help_is_0(command: str) -> None:
    done = run(*([command] if command else []), "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: aurora-express")
