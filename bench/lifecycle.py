"""Time added to a Create and to a Delete: the provider against crhelper's README defaults.

Emulated AWS (moto with ``aurora_express.local.moto_express``): a cluster that stays
``creating`` for D seconds and whose deletion takes D seconds. The figure is
the time from the handler's first invocation to the response PUT on the
ResponseURL, minus D.

- The provider runs in real time (it waits inside its first invocation).
- crhelper, configured as its README shows, answers only from a scheduled
  poll (every 2 minutes by default) and sleeps 120 s before answering a
  Delete. The bench plays EventBridge at the rate crhelper asks for, with
  every clock scaled by ``scale`` (D too), and reports the figure scaled
  back: wall time, less the scaled waits, plus their nominal length.

Fast teardown (``measure_teardown``): the stack Delete's time to answer, from
the first invocation to the response PUT, for a cluster that stays ``deleting``
D seconds, with ``WaitForDeletion: false`` against the default ``true``.

Each subject and D runs in a process of its own (``bench.lifecycle_run``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench import procs
from bench.stats import Row

REPO = Path(__file__).resolve().parent.parent
CREATE = "Create: time added"
DELETE = "Delete: time added"
TEARDOWN = "Stack Delete: time to answer"


def _run(
    subject: str, seconds: float, runs: int, scale: float, *, wait: bool = True
) -> list[dict[str, dict[str, float]]]:
    with tempfile.TemporaryDirectory(prefix="aurora-express-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [
            sys.executable,
            "-m",
            "bench.lifecycle_run",
            subject,
            str(seconds),
            str(runs),
            str(scale),
            str(out),
            "true" if wait else "false",
        ]
        procs.timed(argv, cwd=REPO)
        cycles: list[dict[str, dict[str, float]]] = json.loads(out.read_text())["cycles"]
        return cycles


def measure(durations: list[float], runs: int, scale: float) -> list[Row]:
    """Rows: for each D, the provider and the crhelper baseline, Create then Delete."""
    rows: list[Row] = []
    for d in durations:
        provider = _run("provider", d, runs, 1.0)
        baseline = _run("crhelper", d, runs, scale)
        sleep = f"120-s sleep {120 * scale:g} s, "
        for section, key in ((CREATE, "create"), (DELETE, "delete")):
            label = f"{section} (D = {d:g} s)"
            rows.append(
                Row(
                    label,
                    "aurora-express provider",
                    [c[key]["seconds"] - d for c in provider],
                    how=f"real time: first invocation to response PUT, minus D; "
                    f"invocations {_span([c[key]['invocations'] for c in provider])}",
                    goal="under 1 s",
                )
            )
            rows.append(
                Row(
                    label,
                    "crhelper, README defaults",
                    [c[key]["seconds"] - d for c in baseline],
                    how=f"clock scaled x{scale:g} (EventBridge every {120 * scale:g} s, "
                    f"{sleep if key == 'delete' else ''}"
                    f"D {d * scale:g} s), reported scaled back; polls "
                    f"{_span([c[key]['polls'] for c in baseline])}",
                    baseline=True,
                )
            )
    return rows


def measure_teardown(seconds: float, runs: int) -> list[Row]:
    """Rows: the Delete's answer with WaitForDeletion false, then true, for D = ``seconds``."""
    label = f"{TEARDOWN} (cluster deleting D = {seconds:g} s)"
    fast = _run("provider", seconds, runs, 1.0, wait=False)
    waiting = _run("provider", seconds, runs, 1.0, wait=True)
    how = "real time: first invocation to response PUT; invocations "
    return [
        Row(
            label,
            "WaitForDeletion: false",
            [c["delete"]["seconds"] for c in fast],
            how=how + _span([c["delete"]["invocations"] for c in fast]),
            goal="within one describe of the delete call",
        ),
        Row(
            label,
            "WaitForDeletion: true (default)",
            [c["delete"]["seconds"] for c in waiting],
            how=how + _span([c["delete"]["invocations"] for c in waiting]),
            baseline=True,
        ),
    ]


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"
