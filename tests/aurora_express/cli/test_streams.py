"""What each command writes where: results on stdout, one line per problem on stderr.

Run as a user runs the CLI (a process of its own, logging as the CLI sets it
up), so a library log line that leaked to the terminal would show here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.secret_scan import record_output

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = str(ROOT / "examples" / "migrations")
SEEDS = str(ROOT / "examples" / "seeds")


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "aurora_express.cli", *argv],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    record_output("streams " + " ".join(argv[:1]), "stdout", result.stdout)
    record_output("streams " + " ".join(argv[:1]), "stderr", result.stderr)
    return result


def test_help_writes_stdout_only() -> None:
    result = cli("--help")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("usage: aurora-express")


def test_plan_without_a_target_writes_the_plan_on_stdout_only() -> None:
    result = cli("plan", MIGRATIONS, "--seeds", SEEDS)
    assert (result.returncode, result.stderr) == (0, "")
    assert "Would run: 4" in result.stdout
    assert "migrate would succeed" in result.stdout


def test_migrate_local_says_one_line_on_stderr_and_the_result_on_stdout() -> None:
    """The engine's own log lines (``Applied ...``) are the Lambda's, not the terminal's."""
    result = cli("migrate", MIGRATIONS, "--seeds", SEEDS, "--local")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["Starting a throwaway PostgreSQL 18 ..."]
    assert "Applied: 4" in result.stdout
    assert "Schema after the migrations:" in result.stdout


def test_a_missing_folder_is_one_line_on_stderr_and_nothing_on_stdout() -> None:
    result = cli("plan", str(ROOT / "no-such-folder"))
    assert result.returncode in (1, 2)
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "no-such-folder" in result.stderr


def test_a_usage_error_exits_2_on_stderr() -> None:
    result = cli("migrate", MIGRATIONS, "--local", "--database", "template1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "argument --database: template1 is reserved" in result.stderr
