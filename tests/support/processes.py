"""Folders a server running as ``nobody`` can reach, and processes left running in one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A fresh folder under the system temp folder that the server's user can traverse.

    (pytest's ``tmp_path`` sits below a 0700 folder, out of reach of ``nobody``.)
    """
    path = Path(tempfile.mkdtemp(prefix="aex-test."))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def processes_in(folder: Path) -> list[str]:
    """Processes whose working directory or command line lies in ``folder``.

    PostgreSQL's postmaster and every backend have the data folder as their
    working directory, so a server left running shows up here.
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if cwd.startswith(str(folder)) or str(folder) in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()} (cwd {cwd})")
    return found
