"""The build of each provider function's code folder, defined once.

``sam build`` runs it through the Makefile's ``build-*`` targets
(``python -m aurora_express.provider_build ClusterProviderFunction DIR``) and
the CDK constructs (``aurora_express.cdk``) run it as their local bundling,
so both deploy the same files:

- the function's pinned requirements (``provider/requirements-*.txt``) as
  wheels for the Lambda platform (arm64, CPython 3.13), fetched by ``pip
  --platform``: no container, no compiler. Each function ships its own boto3,
  since the runtime's copy may predate ``WithExpressConfiguration``;
- only its own part of ``provider/`` (``common`` and its subpackages);
- bytecode, compiled here once with the runtime's Python version: Lambda's
  code folder is read-only, so without it every cold start compiles botocore
  (measured: 2.4 s instead of 1.25 s). ``unchecked-hash``, because zip
  archives do not keep the source timestamps that ordinary ``.pyc`` files are
  checked against. Run by another Python version, the step is skipped
  (its bytecode would be of no use to the runtime).

Standard library only: ``sam build`` runs it with a bare ``python3.13``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "provider"
PYTHON_VERSION = (3, 13)  # template.yaml's Runtime, python3.13
ARCHITECTURE = "arm64"  # template.yaml's Architectures
PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")


@dataclass(frozen=True)
class FunctionBuild:
    """What goes into one function's code folder."""

    requirements: str  # a file in provider/
    parts: tuple[str, ...]  # subpackages of provider/ besides common


# By template.yaml's logical id. The reaper deletes clusters with the cluster
# provider's own code, so it ships that too.
FUNCTIONS = {
    "ClusterProviderFunction": FunctionBuild("requirements-cluster.txt", ("cluster",)),
    "MigrationsProviderFunction": FunctionBuild("requirements-migrations.txt", ("migrations",)),
    "ReaperFunction": FunctionBuild("requirements-cluster.txt", ("cluster", "reaper")),
}


def pip_command(target: Path, requirements: Path) -> list[str]:
    """``pip install`` of ``requirements`` into ``target`` as Lambda-platform wheels."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        ".".join(map(str, PYTHON_VERSION)),
        "--only-binary=:all:",
        "--upgrade",
        "-r",
        str(requirements),
    ]


def install_requirements(target: Path, requirements: Path) -> None:
    subprocess.run(pip_command(target, requirements), check=True)


def copy_sources(target: Path, sources: Sequence[tuple[Path, str]]) -> None:
    """Copy each (file or folder, path under ``target``), without bytecode caches."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for source, destination in sources:
        to = target / destination
        to.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, to, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(source, to)


def compile_bytecode(target: Path) -> bool:
    """Compile ``target`` for the runtime; False (nothing done) under another Python."""
    if sys.version_info[:2] != PYTHON_VERSION:
        return False
    # In a child process: compileall's workers start from a forkserver, which
    # would import the caller's __main__ (a CDK app) again.
    command = [sys.executable, "-m", "compileall", "-q", "-j", "0"]
    subprocess.run([*command, "--invalidation-mode", "unchecked-hash", str(target)], check=True)
    return True


def provider_sources(
    build: FunctionBuild, provider_dir: Path = PROVIDER_DIR
) -> list[tuple[Path, str]]:
    return [
        (provider_dir / "__init__.py", "provider/__init__.py"),
        *((provider_dir / part, f"provider/{part}") for part in ("common", *build.parts)),
    ]


def build_folder(
    target: Path, requirements: Path | None, sources: Sequence[tuple[Path, str]]
) -> None:
    """A Lambda code folder: ``requirements`` installed, ``sources`` copied, then compiled."""
    target.mkdir(parents=True, exist_ok=True)
    if requirements is not None:
        install_requirements(target, requirements)
    copy_sources(target, sources)
    compile_bytecode(target)


def build_function(logical_id: str, target: Path, provider_dir: Path = PROVIDER_DIR) -> None:
    """The code folder of template.yaml's function ``logical_id``, in ``target``."""
    try:
        build = FUNCTIONS[logical_id]
    except KeyError:
        known = ", ".join(FUNCTIONS)
        raise ValueError(f"no build for {logical_id!r}; the functions are {known}") from None
    build_folder(target, provider_dir / build.requirements, provider_sources(build, provider_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=sorted(FUNCTIONS), help="template.yaml's logical id")
    parser.add_argument("target", type=Path, help="the code folder to fill (sam's ARTIFACTS_DIR)")
    args = parser.parse_args(argv)
    build_function(args.function, args.target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
