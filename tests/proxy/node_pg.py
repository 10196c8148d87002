"""node's ``pg`` (node-postgres) and ``dotenv``, installed for the tests as the bench installs.

What drizzle-kit, Prisma and most Node tools use to connect and to read a
``.env`` file.

``npm install`` of a pinned version into a cache folder, reused across runs.
Without node, npm or the registry the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

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
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("node and npm are not on PATH")
    root = CACHE / ("npm-" + "-".join(f"{k}-{v}" for k, v in PINNED.items()))
    stamp = root / ".installed"
    if not stamp.exists():
        root.mkdir(parents=True, exist_ok=True)
        package = {"private": True, "type": "module", "dependencies": PINNED}
        (root / "package.json").write_text(json.dumps(package, indent=2))
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"npm install failed: {done.stderr.strip()[-300:]}")
        stamp.write_text(json.dumps(PINNED))
    script = root / name
    script.write_text(text)
    return Path(node), script


def node_pg() -> tuple[Path, Path]:
    """(node, the client script of the proxy tests)."""
    return node_script("proxy-client.mjs", NODE_SCRIPT)
