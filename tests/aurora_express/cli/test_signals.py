"""A signal mid-run leaves nothing behind: the throwaway PostgreSQL stopped, its folder gone.

The CLI runs as a user runs it (a process of its own); ``TMPDIR`` is a fresh
folder, so whatever the run leaves there is this run's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.secret_scan import record_output

pytestmark = pytest.mark.slow


def _postgres_under(folder: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in cmdline and "postgres" in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_migrate_local_stops_postgres_and_removes_its_folder_on_a_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__slow.sql").write_text("SELECT pg_sleep(60);\n")
    # Under /tmp itself: run as root, PostgreSQL runs as nobody from a copy kept in TMPDIR.
    scratch = Path(tempfile.mkdtemp(prefix="aurora-express-signals-", dir="/tmp"))
    scratch.chmod(0o755)
    env = {**os.environ, "TMPDIR": str(scratch)}
    cli = subprocess.Popen(
        [sys.executable, "-m", "aurora_express.cli", "migrate", str(migrations), "--local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not _postgres_under(scratch) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # into the slow migration
    cli.send_signal(signum)
    out, err = cli.communicate(timeout=60)
    record_output(f"signals {signum.name}", "stdout", out)
    record_output(f"signals {signum.name}", "stderr", err)
    assert cli.returncode == 128 + signum, err
    assert f"terminated ({signum.name})" in err
    time.sleep(0.5)
    assert _postgres_under(scratch) == []
    leftovers = [p.name for p in scratch.iterdir() if p.name.startswith("aurora-express-pg-run")]
    shutil.rmtree(scratch, ignore_errors=True)
    assert leftovers == []
