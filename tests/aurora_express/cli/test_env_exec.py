"""``aurora-express env`` and ``exec``: what tools read, and the token only where it belongs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import certifi
import psycopg
import pytest
import time_machine

from aurora_express.cli.env import child_environment, command_of, render
from aurora_express.cli.errors import CliError
from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres, iam_token
from tests.support.cli import CLUSTER, endpoint_args
from tests.support.node import node_script
from tests.support.paths import ROOT
from tests.support.secret_scan import plant, record_output

NAMES = [
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGPASSWORD",
    "DATABASE_URL",
]


def _env_main(
    args: list[str], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> str:
    with time_machine.travel(FROZEN_AT, tick=False):
        code = main(["env", "--cluster", CLUSTER, *args])
    out = capsys.readouterr().out
    # The token is printed, as asked: the scan reads it, and the test planted it.
    record_output(request.node.nodeid, "env output", out)
    assert code == 0
    return out


def _frozen_token(cluster: dict[str, Any], request: pytest.FixtureRequest) -> str:
    token = iam_token(cluster["Endpoint"], cluster["Port"], "postgres")
    return plant(request.node.nodeid, token)  # env prints it: that is what it is for


def test_env_prints_the_libpq_variables_and_database_url_as_sh_exports(
    cluster: dict[str, Any], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    token = _frozen_token(cluster, request)
    out = _env_main(["--database", "app"], capsys, request)
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    pairs = [shlex.split(line.removeprefix("export ")) for line in lines]
    values = dict(p[0].split("=", 1) for p in pairs)
    assert list(values) == NAMES
    assert values["PGHOST"] == cluster["Endpoint"]
    assert values["PGPORT"] == str(cluster["Port"])
    assert values["PGUSER"] == "postgres"
    assert values["PGDATABASE"] == "app"
    assert values["PGSSLMODE"] == "verify-full"
    assert values["PGSSLROOTCERT"] == certifi.where()
    assert values["PGPASSWORD"] == token
    url = urlsplit(values["DATABASE_URL"])
    assert (url.scheme, url.hostname, url.port, url.path) == (
        "postgresql",
        cluster["Endpoint"],
        cluster["Port"],
        "/app",
    )
    assert unquote(url.password or "") == token
    assert parse_qs(url.query) == {"sslmode": ["verify-full"], "sslrootcert": [certifi.where()]}
    assert "valid 15 minutes" in out


def test_env_sh_output_evaluates_in_a_real_shell_to_the_same_values(
    cluster: dict[str, Any], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    _frozen_token(cluster, request)
    sh = _env_main([], capsys, request)
    as_json = json.loads(_env_main(["--format", "json"], capsys, request))
    shown = subprocess.run(
        [
            "bash",
            "-c",
            f'eval "$SCRIPT"; {sys.executable} -c "import json,os; print(json.dumps('
            f'{{k: os.environ[k] for k in {NAMES!r}}}))"',
        ],
        env={"PATH": os.environ["PATH"], "SCRIPT": sh},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(shown.stdout) == as_json


def test_env_dotenv_output_reads_back_with_nodes_dotenv(
    cluster: dict[str, Any], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    """What drizzle-kit and Prisma read their .env with."""
    _frozen_token(cluster, request)
    dotenv = _env_main(["--format", "dotenv"], capsys, request)
    as_json = json.loads(_env_main(["--format", "json"], capsys, request))
    node, script = node_script(
        "read-dotenv.mjs",
        'import dotenv from "dotenv"; import fs from "fs";\n'
        "console.log(JSON.stringify(dotenv.parse(fs.readFileSync(0, 'utf8'))));\n",
    )
    done = subprocess.run(
        [str(node), str(script)], input=dotenv, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == as_json


def test_env_database_url_logs_in_over_verify_full(
    cluster: dict[str, Any],
    tls: EmbeddedPostgres,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    plant(request.node.nodeid, tls.iam_token("postgres"))
    values = json.loads(_env_main([*endpoint_args(tls), "--format", "json"], capsys, request))
    assert values["PGSSLROOTCERT"] == str(tls.ca_path)  # DB_SSLROOTCERT, as for the Lambda
    with psycopg.connect(values["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row == (True,)


def test_env_database_url_logs_in_with_node_pg_as_drizzle_kit_would(
    cluster: dict[str, Any],
    tls: EmbeddedPostgres,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    plant(request.node.nodeid, tls.iam_token("postgres"))
    values = json.loads(_env_main([*endpoint_args(tls), "--format", "json"], capsys, request))
    node, script = node_script(
        "database-url.mjs",
        'import pg from "pg";\n'
        "const c = new pg.Client({ connectionString: process.env.DATABASE_URL });\n"
        "await c.connect();\n"
        "const r = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');\n"
        "console.log(`ssl=${r.rows[0].ssl}`); await c.end();\n",
    )
    done = subprocess.run(
        [str(node), str(script)],
        env={"PATH": os.environ["PATH"], "DATABASE_URL": values["DATABASE_URL"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ssl=true"


def test_prisma_style_url_names_the_ca_in_prismas_words(
    cluster: dict[str, Any], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    token = _frozen_token(cluster, request)
    values = json.loads(_env_main(["--format", "json", "--url-style", "prisma"], capsys, request))
    url = urlsplit(values["DATABASE_URL"])
    assert unquote(url.password or "") == token
    assert parse_qs(url.query) == {
        "sslmode": ["require"],
        "sslcert": [certifi.where()],
        "sslaccept": ["strict"],
    }
    assert values["PGSSLMODE"] == "verify-full"  # libpq's own variables are unchanged


def test_render_quotes_values_for_each_format() -> None:
    values = {"A": "it's", "B": "x y"}
    assert "export A='it'\"'\"'s'\nexport B='x y'\n" in render(values, "sh", "c")
    assert "A=\"it's\"\nB='x y'\n" in render(values, "dotenv", "c")
    assert json.loads(render(values, "json", "c")) == values


# -- exec ------------------------------------------------------------------------

FAKE_TOOL = textwrap.dedent(
    """\
    import json, os, sys
    with open(os.environ["FAKE_TOOL_REPORT"], "w") as out:
        json.dump({"argv": sys.argv, "env": dict(os.environ)}, out)
    sys.exit(int(os.environ.get("FAKE_TOOL_EXIT", "0")))
    """
)


def _exec(*argv: str, env: dict[str, str] | None = None, frozen: bool = False) -> Any:
    runner = (
        [str(ROOT / "tests" / "support" / "frozen_cli.py")]
        if frozen
        else ["-m", "aurora_express.cli"]
    )
    done = subprocess.run(
        [sys.executable, *runner, "exec", "--cluster", CLUSTER, *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    test_id = os.environ.get("PYTEST_CURRENT_TEST", __name__)
    record_output(test_id, "exec output", done.stdout + done.stderr)
    return done


@pytest.fixture
def fake_tool(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "fake_tool.py"
    script.write_text(FAKE_TOOL)
    return script, tmp_path / "report.json"


def test_exec_gives_the_command_the_variables_in_its_environment_only(
    cluster: dict[str, Any], fake_tool: tuple[Path, Path]
) -> None:
    script, report = fake_tool
    done = _exec(
        "--database",
        "app",
        "--",
        sys.executable,
        str(script),
        "migrate",
        env={"FAKE_TOOL_REPORT": str(report), "PGPASSFILE": "/callers/pgpass"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""
    seen = json.loads(report.read_text())
    env = seen["env"]
    token = env["PGPASSWORD"]
    assert token.startswith(f"{cluster['Endpoint']}:{cluster['Port']}/?Action=connect")
    assert (env["PGHOST"], env["PGUSER"], env["PGDATABASE"]) == (
        cluster["Endpoint"],
        "postgres",
        "app",
    )
    assert unquote(urlsplit(env["DATABASE_URL"]).password or "") == token
    assert seen["argv"][1:] == ["migrate"]
    assert not any(token in arg for arg in seen["argv"])
    assert "PGPASSFILE" not in env  # the caller's passfile would not be read instead


def test_exec_exits_with_the_commands_exit_code(
    cluster: dict[str, Any], fake_tool: tuple[Path, Path]
) -> None:
    script, report = fake_tool
    done = _exec(
        "--",
        sys.executable,
        str(script),
        env={"FAKE_TOOL_REPORT": str(report), "FAKE_TOOL_EXIT": "7"},
    )
    assert done.returncode == 7


def test_exec_of_a_missing_command_exits_127(cluster: dict[str, Any]) -> None:
    done = _exec("--", "no-such-tool-anywhere")
    assert done.returncode == 127
    assert "no-such-tool-anywhere: command not found" in done.stderr


def test_exec_without_a_command_is_a_usage_error() -> None:
    with pytest.raises(CliError) as failed:
        command_of(["--"])
    assert failed.value.exit_code == 2


def test_exec_runs_real_psql_logged_in_with_the_token(
    cluster: dict[str, Any], tls: EmbeddedPostgres
) -> None:
    done = _exec(
        *endpoint_args(tls),
        "--",
        str(tls.psql()),
        "-XAtc",
        "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        frozen=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "postgres true"


def test_child_environment_drops_what_would_shadow_the_clusters_settings() -> None:
    base = {"PATH": "/bin", "PGSERVICE": "prod", "PGPASSFILE": "x", "PGHOST": "old"}
    assert child_environment({"PGHOST": "new"}, base) == {"PATH": "/bin", "PGHOST": "new"}
