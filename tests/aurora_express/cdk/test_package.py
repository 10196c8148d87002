"""The [cdk] extra alone: no cfn-lint needed; the wheel carries what the constructs read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.secret_scan import record_output

ROOT = Path(__file__).resolve().parents[3]

# Every finder made blind to cfnlint: as if the [lint] extra were not installed.
WITHOUT_CFN_LINT = """
import sys

class Blind:
    def __init__(self, inner):
        self.inner = inner
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "cfnlint":
            return None
        return self.inner.find_spec(name, path, target)
    def __getattr__(self, name):
        return getattr(self.inner, name)

sys.meta_path[:] = [Blind(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]

import aws_cdk as cdk
from aurora_express.cdk import AuroraExpressProvider, ExpressCluster, PropertyError

stack = cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "Prov")
provider = AuroraExpressProvider(stack, "Provider")
try:
    ExpressCluster(stack, "Db", provider=provider, min_capacity=0.3)
except PropertyError as error:
    print(error)
assert "cfnlint" not in sys.modules, "cfnlint was imported"
"""


def test_the_constructs_and_their_checks_need_no_cfn_lint() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CFN_LINT],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    record_output("cdk without cfn-lint", "stderr", result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Property MinCapacity: must be a number from 0 to 256 in steps of 0.5" in result.stdout


@pytest.mark.slow
def test_the_wheel_carries_template_yamls_copy_and_the_pinned_requirements(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("provider", "aurora_express"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    record_output("pip wheel", "stderr", result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "aurora_express/provider_template.json",
        "aurora_express/provider_build.py",
        "aurora_express/cdk/__init__.py",
        "provider/requirements-cluster.txt",
        "provider/requirements-migrations.txt",
    } <= names
