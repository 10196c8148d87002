"""Child processes timed by waiting on them directly.

``subprocess.run(..., timeout=...)`` waits by polling and adds up to 50 ms a
process; ``Popen.wait()`` without a timeout blocks in ``waitpid``, so the
time measured is the child's. Output goes to a temporary file, not a pipe, so
a chatty child never blocks on a full pipe while nobody reads it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class ChildFailed(RuntimeError):
    """A timed child exited non-zero; the message has the tail of its output."""


def timed(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> float:
    """Run ``argv`` to completion and return its wall time in seconds (spawn to exit).

    Raises ``ChildFailed`` with the last lines of its output when it exits non-zero.
    """
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        code = process.wait()
        elapsed = time.perf_counter() - start
        if code != 0:
            out.seek(0)
            tail = out.read()[-3000:].decode(errors="replace")
            raise ChildFailed(f"{Path(str(argv[0])).name} exited {code}: {tail}")
    return elapsed


def output(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> str:
    """Run ``argv`` (not timed) and return its stdout; ``ChildFailed`` when it fails."""
    done = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        check=False,
    )
    if done.returncode != 0:
        raise ChildFailed(
            f"{Path(str(argv[0])).name} exited {done.returncode}: {done.stderr[-3000:]}"
        )
    return done.stdout
