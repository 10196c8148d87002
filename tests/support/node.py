"""node's ``pg`` (node-postgres) and ``dotenv``, installed for the tests as the bench installs.

What drizzle-kit, Prisma and most Node tools use to connect and to read a
``.env`` file.

``npm install`` of pinned versions into a cache folder, reused across runs
and xdist workers (``bench.npm_peers.install_packages``, one install at a
time). Without node, npm or the registry the tests that need it are
skipped, saying why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.npm_peers import NpmUnavailable, install_packages

PINNED = {"pg": "8.23.1", "dotenv": "18.0.10"}
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aurora-express-tests"

# Queries, a committed and a rolled-back transaction, a large result: what an app does.
NODE_SCRIPT = """\
import pg from "pg";

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const who = await client.query(
  "SELECT current_user AS u, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
console.log(`user=${who.rows[0].u}`, `ssl=${who.rows[0].ssl}`);
await client.query("CREATE TABLE t (n int)");
await client.query("BEGIN"); await client.query("INSERT INTO t VALUES (1)");
await client.query("COMMIT");
await client.query("BEGIN"); await client.query("INSERT INTO t VALUES (2)");
await client.query("ROLLBACK");
const kept = await client.query("SELECT count(*)::int AS c FROM t");
console.log(`kept=${kept.rows[0].c}`);
const big = await client.query(
  "SELECT n, repeat('x', 50) AS pad FROM generate_series(1, 200000) n");
console.log(`rows=${big.rows.length}`);
await client.end();
console.log("ok");
"""


def node_script(name: str, text: str) -> tuple[Path, Path]:
    """(node, a script ``name`` holding ``text`` beside the installed packages).

    The script sits in the install folder: ES modules resolve packages from where
    the importing file is (``NODE_PATH`` is for CommonJS only). Skips the test
    when node, npm or the packages cannot be had.
    """
    node = shutil.which("node")
    try:
        root = install_packages(PINNED, CACHE)
    except NpmUnavailable as exc:
        pytest.skip(f"node's pg and dotenv could not be installed: {exc}")
    assert node is not None  # install_packages checked
    script = root / name
    script.write_text(text)
    return Path(node), script


def node_pg() -> tuple[Path, Path]:
    """(node, the client script of the proxy tests)."""
    return node_script("proxy-client.mjs", NODE_SCRIPT)
