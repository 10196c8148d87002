"""The npm peers (dbmate, drizzle-orm + pg, node-pg-migrate), installed by the bench itself.

``npm install`` of pinned versions into a cache folder (``--cache-dir``,
default ``~/.cache/aurora-express-bench``), reused across runs. Without npm
or the registry the install fails: the caller skips these peers and says so.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PINNED = {
    "dbmate": "2.36.0",
    "drizzle-orm": "0.45.4",
    "pg": "8.23.1",
    "node-pg-migrate": "9.0.0",
}
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / (
    "aurora-express-bench"
)

# drizzle's documented node-postgres setup: a pool, drizzle(), migrate(), end.
DRIZZLE_SCRIPT = """\
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const db = drizzle({ client: pool });
await migrate(db, { migrationsFolder: process.argv[2] });
await pool.end();
"""

_DBMATE_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class NpmUnavailable(RuntimeError):
    """npm is missing or the install failed; the message says which."""


@dataclass(frozen=True)
class NpmPeers:
    """Paths to what the npm peers run."""

    root: Path
    node: Path

    @property
    def dbmate(self) -> Path:
        """dbmate's native binary (the npm package's ``dbmate`` is a Node wrapper around it)."""
        arch = _DBMATE_ARCH.get(platform.machine().lower(), platform.machine())
        return self.root / "node_modules" / "@dbmate" / f"linux-{arch}" / "bin" / "dbmate"

    @property
    def drizzle_script(self) -> Path:
        return self.root / "drizzle-migrate.mjs"

    @property
    def node_pg_migrate(self) -> Path:
        return self.root / "node_modules" / "node-pg-migrate" / "bin" / "node-pg-migrate.js"


def install_packages(
    pinned: dict[str, str],
    cache: Path = DEFAULT_CACHE,
    *,
    timeout: float = 600.0,
    ignore_scripts: bool = False,
) -> Path:
    """``npm install`` of ``pinned`` into a folder of ``cache`` named for them (once); its path.

    ``ignore_scripts``: no install scripts (a package that would download a binary
    from outside the registry). Raises ``NpmUnavailable`` if impossible.
    """
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        raise NpmUnavailable("node and npm are not on PATH")
    key = hashlib.sha256(json.dumps(pinned, sort_keys=True).encode()).hexdigest()[:10]
    root = cache / f"npm-{key}"
    stamp = root / ".installed"
    if stamp.exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    # One install at a time per folder: test processes (pytest-xdist workers) and the bench
    # may ask for the same packages at once; the others wait, then find the stamp.
    with open(cache / f"npm-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            _npm_install(npm, root, pinned, timeout=timeout, ignore_scripts=ignore_scripts)
            stamp.write_text(json.dumps(pinned))
    return root


def _npm_install(
    npm: str, root: Path, pinned: dict[str, str], *, timeout: float, ignore_scripts: bool
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    package = {"private": True, "type": "module", "dependencies": pinned}
    (root / "package.json").write_text(json.dumps(package, indent=2))
    argv = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"]
    if ignore_scripts:
        argv.append("--ignore-scripts")
    try:
        done = subprocess.run(
            argv, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NpmUnavailable(f"npm install took over {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise NpmUnavailable(f"npm install failed: {' '.join(tail)[:300]}")


def install(cache: Path = DEFAULT_CACHE, *, timeout: float = 600.0) -> NpmPeers:
    """Install the pinned peers under ``cache`` (once); raise ``NpmUnavailable`` if impossible."""
    root = install_packages(PINNED, cache, timeout=timeout)
    node = shutil.which("node")
    assert node is not None  # install_packages checked
    peers = NpmPeers(root, Path(node))
    peers.drizzle_script.write_text(DRIZZLE_SCRIPT)
    for path in (peers.dbmate, peers.node_pg_migrate):
        if not path.exists():
            raise NpmUnavailable(f"{path.name} is missing after npm install ({path})")
    return peers
