"""``python -m bench`` (``make bench``): every measurement, one table, JSON and Markdown.

    python -m bench                 # the full run (about 20 minutes)
    python -m bench --quick         # tiny sizes, one or two runs: a smoke test
    python -m bench --only migrations --runs 3
    python -m bench --only proxy    # aurora-express proxy against direct connections

Results go to ``bench/results/full.{json,md}`` (``quick.*`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

from aurora_express.local.cfn_local import OFFLINE_AWS_ENV
from bench import machine, report
from bench.npm_peers import DEFAULT_CACHE
from bench.stats import Row

SECTIONS = ("lifecycle", "teardown", "coldstart", "migrations", "package", "proxy")
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few runs (smoke test)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--runs", type=int, help="runs per figure (default 5; quick 1)")
    parser.add_argument(
        "--migrations", type=int, help="migrations of 10 statements (default 200; quick 5)"
    )
    parser.add_argument(
        "--durations",
        help="emulated creating/deleting seconds, comma-separated (default 5,30; quick 1)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        help="clock scale for crhelper's schedule "
        "(default 0.01: 2 minutes take 1.2 s; quick 0.005)",
    )
    parser.add_argument(
        "--rtt-ms",
        default="10,50",
        help="also run the migrations through a proxy adding each of these round-trip times, "
        "comma-separated (default 10,50; 0 to skip)",
    )
    parser.add_argument(
        "--npm-cache",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where the npm peers are installed (default {DEFAULT_CACHE})",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results files")
    args = parser.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (1 if quick else 5)
    args.migrations = args.migrations or (5 if quick else 200)
    args.durations = [float(d) for d in (args.durations or ("1" if quick else "5,30")).split(",")]
    args.scale = args.scale or (0.005 if quick else 0.01)
    args.only = args.only or list(SECTIONS)
    try:
        args.rtt_ms = [float(r) for r in str(args.rtt_ms).split(",") if r.strip()]
    except ValueError:
        parser.error(f"--rtt-ms must be numbers of milliseconds, comma-separated: {args.rtt_ms}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server, per request
    os.environ.update(OFFLINE_AWS_ENV)  # never a real account
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    info = machine.describe()
    line = machine.one_line(info)
    print(f"Machine: {line}", flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    started = time.monotonic()
    coldstart_runs = 2 if args.quick else max(args.runs, 6)
    if "coldstart" in args.only:
        from bench import coldstart

        _progress("cold start")
        rows += coldstart.measure(coldstart_runs)
    if "lifecycle" in args.only:
        from bench import lifecycle

        _progress(f"create and delete, D = {args.durations}")
        rows += lifecycle.measure(args.durations, min(args.runs, 3), args.scale)
    if "teardown" in args.only:
        from bench import lifecycle

        deleting = 1.0 if args.quick else 30.0
        _progress(f"stack Delete with WaitForDeletion false and true, D = {deleting:g} s")
        rows += lifecycle.measure_teardown(deleting, min(args.runs, 3))
    if "migrations" in args.only:
        from bench import migrations

        _progress(f"migrations, {args.migrations} x 10 statements")
        found, more = migrations.measure(
            args.migrations,
            args.runs,
            args.npm_cache,
            rtt_ms=args.rtt_ms,
            rtt_runs=1 if args.quick else 2,
        )
        rows += found
        notes += more
    if "package" in args.only:
        from bench import package_size

        _progress("package size")
        found, more = package_size.measure()
        rows += found
        notes += more
    if "proxy" in args.only:
        from bench import proxy

        sizes = proxy.Sizes.quick() if args.quick else proxy.Sizes(runs=args.runs)
        _progress(f"proxy: {sizes}")
        found, more = proxy.measure(sizes)
        rows += found
        notes += more
    notes.append(
        f"Bench wall time {time.monotonic() - started:.0f} s; "
        f"load average at the end {[round(x, 2) for x in os.getloadavg()]}."
    )
    name = "quick" if args.quick else "full"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"aurora-express-provider benchmarks ({name}, {stamp})"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    settings["coldstart_runs"] = coldstart_runs
    json_path, md_path = report.write(args.out, name, rows, info, line, notes, settings, title)
    print()
    print(md_path.read_text())
    print(f"Written: {json_path} and {md_path}")
    return 0


def _progress(what: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {what} ...", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
