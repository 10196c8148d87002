"""Which modules a fresh interpreter has loaded after doing one thing: the import footprint.

``loaded_after(code)`` runs ``code`` in a new ``python -c`` (this checkout
first on the path) and returns which of ``HEAVY`` are then in
``sys.modules``. Tests assert what a command or a request does NOT load:
behaviour, not time (what each costs is the bench's, ``bench/NOTES.md``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping

from tests.support.paths import ROOT

# The imports that dominate a cold start, each tens of milliseconds.
HEAVY = (
    "boto3",
    "botocore",
    "psycopg",
    "pglast",
    "pydantic",
    "aws_lambda_powertools",
    "moto",
)

_MARK = "--loaded-modules--"
_REPORT = f"""
import json as _json, sys as _sys
print({_MARK!r} + _json.dumps(sorted(m for m in {HEAVY!r} if m in _sys.modules)))
"""


def loaded_after(code: str, env: Mapping[str, str] | None = None) -> set[str]:
    """The ``HEAVY`` modules in ``sys.modules`` once ``code`` has run in a fresh interpreter."""
    environment = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code + _REPORT],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith(_MARK))
    return set(json.loads(line.removeprefix(_MARK)))


def cli_code(argv: list[str], *, exit_code: int = 0) -> str:
    """``aurora-express ARGV`` in-process, its output swallowed; fails unless it exits
    ``exit_code`` (``--help`` and usage errors exit through argparse's ``SystemExit``)."""
    return f"""
import contextlib, io
from aurora_express.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    try:
        code = main({argv!r})
    except SystemExit as exc:
        code = exc.code
assert code == {exit_code!r}, (code, out.getvalue()[-2000:])
"""
