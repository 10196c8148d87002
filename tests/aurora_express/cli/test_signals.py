"""A signal mid-run leaves nothing behind: the throwaway PostgreSQL stopped, its folder gone,
the statement running on a ``--dsn`` server cancelled.

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

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from aurora_express.local.embedded_pg import EmbeddedPostgres
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


def _run_cli_until(
    tmp_path: Path, moment: str, signum: signal.Signals
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Start ``migrate --local``, wait until a PostgreSQL process shows ``moment``, signal it."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__slow.sql").write_text("SELECT pg_sleep(60);\n")
    # Under /tmp itself: run as root, PostgreSQL runs as nobody from a copy kept in TMPDIR.
    # A fresh TMPDIR has no initdb'd template yet, so every run starts with initdb.
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
    while not any(moment in line for line in _postgres_under(scratch)):
        assert cli.poll() is None, cli.communicate()
        assert time.monotonic() < deadline, f"no PostgreSQL process showed {moment!r}"
        time.sleep(0.02)
    cli.send_signal(signum)
    out, err = cli.communicate(timeout=60)
    record_output(f"signals {signum.name}", "stdout", out)
    record_output(f"signals {signum.name}", "stderr", err)
    return scratch, subprocess.CompletedProcess(cli.args, cli.returncode, out, err)


def _assert_nothing_left(scratch: Path) -> None:
    time.sleep(0.5)
    try:
        assert _postgres_under(scratch) == []
        runs = [p.name for p in scratch.iterdir() if p.name.startswith("aurora-express-pg-run")]
        assert runs == []
        staging = [str(p) for p in scratch.glob("aurora-express-pg-template-*/staging-*")]
        assert staging == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_migrate_local_stops_postgres_and_removes_its_folder_on_a_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    # The server itself (``postgres -D``) is up: the run is connecting or in the slow migration.
    scratch, done = _run_cli_until(tmp_path, " -D ", signum)
    assert done.returncode == 128 + signum, done.stderr
    assert f"terminated ({signum.name})" in done.stderr
    _assert_nothing_left(scratch)


def test_a_signal_during_initdb_takes_initdb_and_its_bootstrap_postgres_too(
    tmp_path: Path,
) -> None:
    # initdb runs ``postgres --single`` through a shell: killing initdb alone orphans both.
    scratch, done = _run_cli_until(tmp_path, "--single", signal.SIGTERM)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "terminated (SIGTERM)" in done.stderr
    _assert_nothing_left(scratch)


def _sleeping(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT state FROM pg_stat_activity "
            "WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [state for (state,) in found]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_dsn_migration_cancels_it_on_the_server(
    tmp_path: Path, pg: EmbeddedPostgres, signum: signal.Signals
) -> None:
    # Not cancelled, the statement (and the run's advisory lock) would outlive the CLI by
    # the minute pg_sleep takes, and a re-run would wait for it.
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__slow.sql").write_text("SELECT pg_sleep(60);\n")
    dsn = make_conninfo(**pg.admin_conninfo(pg.create_database()))
    cli = subprocess.Popen(
        [sys.executable, "-m", "aurora_express.cli", "migrate", str(migrations), "--dsn", dsn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while "active" not in _sleeping(dsn):
        assert cli.poll() is None, cli.communicate()
        assert time.monotonic() < deadline, "the migration never started"
        time.sleep(0.05)
    cli.send_signal(signum)
    out, err = cli.communicate(timeout=30)
    record_output(f"dsn signals {signum.name}", "stdout", out)
    record_output(f"dsn signals {signum.name}", "stderr", err)
    assert cli.returncode == 128 + signum, err
    assert f"terminated ({signum.name})" in err
    assert "another command is already in progress" not in err
    assert "active" not in _sleeping(dsn)  # cancelled before the CLI exited
    assert _rerun(migrations, dsn) == 0


def _rerun(migrations: Path, dsn: str) -> int:
    """A re-run gets the lock at once and applies the (now quick) migration."""
    (migrations / "V1__slow.sql").write_text("SELECT 1;\n")
    done = subprocess.run(
        [sys.executable, "-m", "aurora_express.cli", "migrate", str(migrations), "--dsn", dsn],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    record_output("dsn signals rerun", "stderr", done.stderr)
    return done.returncode
