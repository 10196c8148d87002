"""The bench runs end to end on a tiny size and writes its table (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_quick_bench_runs_end_to_end_and_writes_json_and_markdown(tmp_path: Path) -> None:
    """Every section yields rows; the npm peers may be skipped (no registry), and then say so."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((tmp_path / "quick.json").read_text())
    sections = {row["section"] for row in data["rows"]}
    subjects = {row["subject"] for row in data["rows"]}
    assert any(s.startswith("Create: time added") for s in sections)
    assert any(s.startswith("Delete: time added") for s in sections)
    assert "Cold start" in sections
    assert {"Migrations: apply", "Migrations: no-op re-run"} <= sections
    assert {"aurora-express engine", "psql -1 -f", "psql -f per file"} <= subjects
    assert {"aurora-express provider", "crhelper, README defaults"} <= subjects
    assert all(row["runs"] >= 1 and row["median"] is not None for row in data["rows"])
    notes = " ".join(data["notes"])
    assert "Schema check: every tool left the same schema" in notes
    if "dbmate up" not in subjects:
        assert "npm peers (dbmate, drizzle-orm, node-pg-migrate) skipped" in notes
    assert data["machine"]["cpu"]
    table = (tmp_path / "quick.md").read_text()
    assert "| measurement | subject | median | min | max | runs |" in table
    assert table in done.stdout
