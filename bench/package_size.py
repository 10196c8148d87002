"""Package size: each function's artifact, zipped and unzipped, against its dependencies alone.

The artifact is built exactly as ``sam build`` builds it, by the Makefile's
``build-<Function>`` target (pinned wheels for arm64 / CPython 3.13, then the
function's part of ``provider/``) into a temporary folder. "Dependencies
alone" is the same folder without ``provider/``. Zipped is a deflate zip as
SAM uploads. Also shown: the artifact with bytecode compiled in
(``compileall``), which a read-only ``/var/task`` otherwise compiles at every
cold start.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from bench import procs
from bench.stats import Row

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = {"ClusterProviderFunction": "cluster", "MigrationsProviderFunction": "migrations"}
SECTION = "Package size"


class BuildFailed(RuntimeError):
    """The Makefile's build target failed (no wheels for the platform, no index)."""


def _sizes(root: Path, *, skip: str | None = None) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of ``root``, leaving out the top-level folder ``skip``."""
    unzipped = 0
    with tempfile.TemporaryFile() as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for folder, dirs, files in os.walk(root):
                rel = Path(folder).relative_to(root)
                if skip and rel.parts[:1] == (skip,):
                    continue
                dirs.sort()
                for name in sorted(files):
                    path = Path(folder) / name
                    unzipped += path.stat().st_size
                    archive.write(path, str(rel / name))
        zipped = raw.tell()
    return unzipped, zipped


def build(function: str, target: Path) -> None:
    make = shutil.which("make")
    if not make:
        raise BuildFailed("make is not on PATH")
    try:
        procs.timed(
            [
                make,
                "-s",
                "-C",
                str(REPO),
                f"build-{function}",
                f"ARTIFACTS_DIR={target}",
                f"PYTHON={sys.executable}",
            ]
        )
    except procs.ChildFailed as exc:
        raise BuildFailed(str(exc)[-500:]) from exc


def measure() -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aurora-express-bench-") as tmp:
        for function, part in FUNCTIONS.items():
            artifact = Path(tmp) / function
            try:
                build(function, artifact)
            except BuildFailed as exc:
                notes.append(f"Package size of {function} skipped: {exc}")
                continue
            full, full_zip = _sizes(artifact)
            deps, deps_zip = _sizes(artifact, skip="provider")
            compileall.compile_dir(
                artifact,
                quiet=2,
                workers=1,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            pyc, pyc_zip = _sizes(artifact)
            how = f"make build-{function} (arm64 wheels, --no-compile)"
            for label, unzipped, zipped, extra in (
                ("artifact", full, full_zip, how),
                ("dependencies alone", deps, deps_zip, "the artifact without provider/"),
                ("artifact with bytecode", pyc, pyc_zip, "compileall, unchecked-hash .pyc"),
            ):
                rows.append(
                    Row(
                        f"{SECTION}: {part} function",
                        f"{label}, zipped",
                        [zipped],
                        unit="B",
                        how=extra,
                        baseline=label == "dependencies alone",
                    )
                )
                rows.append(
                    Row(
                        f"{SECTION}: {part} function",
                        f"{label}, unzipped",
                        [unzipped],
                        unit="B",
                        how=extra,
                        baseline=label == "dependencies alone",
                    )
                )
    return rows, notes
