"""``aurora-express token`` and ``psql``: a token that logs in, and psql that never shows it."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import pytest
import time_machine

from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from tests.support.cli import CLUSTER, endpoint_args


def test_token_is_the_iam_token_for_the_endpoint_and_logs_in_over_tls(
    cluster: dict[str, Any], tls: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(FROZEN_AT, tick=False):
        code = main(["token", "--cluster", CLUSTER, *endpoint_args(tls)])
    token = capsys.readouterr().out.strip()
    assert code == 0
    assert token == tls.iam_token("postgres")
    with psycopg.connect(**tls.tls_conninfo("postgres", token)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_token_is_made_for_the_clusters_own_endpoint_port_and_master_user(
    cluster: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["token", "--cluster", CLUSTER])
    token = capsys.readouterr().out.strip()
    assert code == 0
    assert token.startswith(f"{cluster['Endpoint']}:{cluster['Port']}/?Action=connect")
    assert "DBUser=postgres" in token


def test_token_finds_the_cluster_by_the_name_the_template_gave(
    cluster: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The provider normalizes identifiers; so does the CLI."""
    assert main(["token", "--cluster", "app-feature/ABC-123_Login"]) == 0
    assert capsys.readouterr().out.startswith(cluster["Endpoint"])


def test_token_for_a_missing_cluster_fails_with_exit_1_and_says_why(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--cluster", "nope"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no cluster 'nope' in us-east-1 (DBClusterNotFoundFault)" in captured.err


def test_token_without_cluster_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token"])
    assert exited.value.code == 2
    assert "--cluster" in capsys.readouterr().err


FAKE_PSQL = textwrap.dedent(
    """\
    import json, os, signal, sys
    passfile = os.environ["PGPASSFILE"]
    info = os.stat(passfile)
    report = {
        "argv": sys.argv,
        "env": dict(os.environ),
        "passfile": open(passfile).read(),
        "mode": info.st_mode & 0o777,
        "dir_mode": os.stat(os.path.dirname(passfile)).st_mode & 0o777,
        "owner": info.st_uid,
        "sigint_ignored": signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
    }
    with open(os.environ["FAKE_PSQL_REPORT"], "w") as out:
        json.dump(report, out)
    if os.environ.get("FAKE_PSQL_HANG_UP_PARENT"):  # the terminal closes while psql runs
        os.kill(os.getppid(), signal.SIGHUP)
        signal.pause()
    if os.environ.get("FAKE_PSQL_KILLED_BY"):
        os.kill(os.getpid(), int(os.environ["FAKE_PSQL_KILLED_BY"]))
    sys.exit(int(os.environ.get("FAKE_PSQL_EXIT", "0")))
    """
)


@pytest.fixture
def fake_psql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``psql`` first on PATH that reports what it was given; the report's path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "psql"
    script.write_text(f"#!{sys.executable}\n{FAKE_PSQL}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    report = tmp_path / "report.json"
    monkeypatch.setenv("FAKE_PSQL_REPORT", str(report))
    monkeypatch.setenv("PGPASSWORD", "from-the-callers-shell")
    return report


def test_psql_gets_the_token_only_through_a_private_passfile(
    cluster: dict[str, Any], fake_psql: Path
) -> None:
    with time_machine.travel(FROZEN_AT, tick=False):
        code = main(["psql", "--cluster", CLUSTER, "--database", "app", "--", "-c", "select 1"])
        token_host = f"{cluster['Endpoint']}:{cluster['Port']}/?Action=connect"
    assert code == 0
    report = json.loads(fake_psql.read_text())
    host, port, database, user, token = report["passfile"].rstrip("\n").split(":", 4)
    assert (host, port, database, user) == (
        cluster["Endpoint"],
        str(cluster["Port"]),
        "*",
        "postgres",
    )
    assert token.replace("\\:", ":").startswith(token_host)
    assert report["argv"][1:] == ["-c", "select 1"]
    assert not any(token in arg for arg in report["argv"])
    assert not any(token in value for value in report["env"].values())
    assert "PGPASSWORD" not in report["env"]
    assert report["mode"] == 0o600
    assert report["dir_mode"] == 0o700
    assert report["owner"] == os.geteuid()
    assert not report["sigint_ignored"]  # Ctrl-C must reach psql (to cancel a query)
    env = report["env"]
    assert env["PGSSLMODE"] == "verify-full"
    assert Path(env["PGSSLROOTCERT"]).is_file()  # certifi's bundle by default
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        cluster["Endpoint"],
        str(cluster["Port"]),
        "postgres",
        "app",
    )
    assert not Path(env["PGPASSFILE"]).exists()
    assert not Path(env["PGPASSFILE"]).parent.exists()
    assert not any(token in value for value in os.environ.values())


def test_psql_killed_by_a_signal_exits_128_plus_its_number(
    cluster: dict[str, Any], fake_psql: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PSQL_KILLED_BY", "9")
    assert main(["psql", "--cluster", CLUSTER]) == 128 + 9
    assert not Path(json.loads(fake_psql.read_text())["env"]["PGPASSFILE"]).exists()


def test_a_hang_up_ends_psql_and_removes_the_passfile_with_its_live_token(
    cluster: dict[str, Any], fake_psql: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PSQL_HANG_UP_PARENT", "1")
    assert main(["psql", "--cluster", CLUSTER]) == 128 + 15  # psql ended by our SIGTERM
    passfile = Path(json.loads(fake_psql.read_text())["env"]["PGPASSFILE"])
    assert not passfile.exists()
    assert not passfile.parent.exists()


def _callers_handler(signum: int, frame: FrameType | None) -> None:
    raise AssertionError("psql's run must take the terminal's signals while psql runs")


@pytest.fixture
def callers_handlers() -> Iterator[None]:
    """SIGINT ignored (as a shell leaves a background job), SIGTERM and SIGHUP the caller's."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {signum: signal.getsignal(signum) for signum in signals}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in signals[1:]:
        signal.signal(signum, _callers_handler)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("callers_handlers")
def test_psql_run_in_process_puts_the_callers_signal_handlers_back(
    cluster: dict[str, Any], fake_psql: Path
) -> None:
    """An ignored SIGINT of ours is not psql's (Ctrl-C still cancels its query), and stays ours."""
    assert main(["psql", "--cluster", CLUSTER]) == 0
    assert not json.loads(fake_psql.read_text())["sigint_ignored"]
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is _callers_handler
    assert signal.getsignal(signal.SIGHUP) is _callers_handler


def test_psql_exit_code_is_psqls(
    cluster: dict[str, Any], fake_psql: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PSQL_EXIT", "3")
    assert main(["psql", "--cluster", CLUSTER]) == 3
    assert not Path(json.loads(fake_psql.read_text())["env"]["PGPASSFILE"]).exists()


def test_real_psql_logs_in_with_the_passfile_over_verify_full(
    cluster: dict[str, Any], tls: EmbeddedPostgres, capfd: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(FROZEN_AT, tick=False):
        code = main(
            [
                "psql",
                "--cluster",
                CLUSTER,
                *endpoint_args(tls),
                "--",
                "-XAtc",
                "select current_user || ' ' || ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ]
        )
    assert code == 0
    assert capfd.readouterr().out.strip() == "postgres true"


def test_real_psql_with_a_stale_token_is_refused_and_exits_nonzero(
    cluster: dict[str, Any], tls: EmbeddedPostgres, capfd: pytest.CaptureFixture[str]
) -> None:
    """Without the frozen clock the token differs from the role's password: no login."""
    code = main(["psql", "--cluster", CLUSTER, *endpoint_args(tls), "--", "-Xc", "select 1"])
    assert code == 2
    assert "password authentication failed" in capfd.readouterr().err
