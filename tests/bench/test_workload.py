"""The bench's workload: the same logical migrations in each tool's own format."""

from __future__ import annotations

import json
from pathlib import Path

from bench import engine_run, workload
from bench.stats import Row, fmt
from provider.migrations import layouts
from provider.migrations.sources import SourceFiles


def test_every_migration_has_ten_statements_and_a_foreign_key_to_the_previous_table() -> None:
    migrations = workload.workload(3)
    assert [len(m.statements) for m in migrations] == [10, 10, 10]
    assert "REFERENCES t0002 (id)" in migrations[2].body()
    assert "REFERENCES t0001 (id)" in migrations[0].body()  # the first refers to itself


def test_the_engine_reads_the_flyway_folder_in_order_with_every_statement(tmp_path: Path) -> None:
    folder = workload.render_flyway(workload.workload(12), tmp_path)
    source = SourceFiles(engine_run.read_folder(folder), origin=str(folder))
    loaded = layouts.load(source, layouts.Layout.AUTO)
    assert [m.version for m in loaded] == [str(n) for n in range(1, 13)]
    assert all(len(m.script.statements) == 10 for m in loaded)


def test_the_engine_reads_the_dbmate_and_drizzle_renderings_as_the_same_migrations(
    tmp_path: Path,
) -> None:
    """Cross-check: the peers' files hold the same statements the engine runs."""
    migrations = workload.workload(4)
    expected = [len(m.statements) for m in migrations]
    for render, layout in (
        (workload.render_dbmate, layouts.Layout.DBMATE),
        (workload.render_drizzle, layouts.Layout.DRIZZLE),
    ):
        folder = render(migrations, tmp_path / layout.value)
        source = SourceFiles(engine_run.read_folder(folder), origin=str(folder))
        loaded = layouts.load(source, layout)
        assert [len(m.script.statements) for m in loaded] == expected, layout


def test_drizzle_journal_lists_every_file_in_order(tmp_path: Path) -> None:
    folder = workload.render_drizzle(workload.workload(3), tmp_path)
    journal = json.loads((folder / "meta" / "_journal.json").read_text())
    tags = [e["tag"] for e in journal["entries"]]
    assert tags == sorted(tags)
    assert all((folder / f"{tag}.sql").is_file() for tag in tags)
    assert [e["when"] for e in journal["entries"]] == sorted(e["when"] for e in journal["entries"])


def test_node_pg_migrate_and_dbmate_files_have_up_and_down_sections(tmp_path: Path) -> None:
    npm = workload.render_node_pg_migrate(workload.workload(1), tmp_path)
    dbm = workload.render_dbmate(workload.workload(1), tmp_path)
    npm_text = next(npm.glob("*.sql")).read_text()
    dbm_text = next(dbm.glob("*.sql")).read_text()
    assert npm_text.startswith("-- Up Migration\n") and "-- Down Migration" in npm_text
    assert dbm_text.startswith("-- migrate:up\n") and "-- migrate:down" in dbm_text


def test_psql_concatenation_holds_every_statement(tmp_path: Path) -> None:
    path = workload.render_psql_concat(workload.workload(5), tmp_path)
    assert path.read_text().count(";\n") == 50


def test_a_row_reports_median_min_and_max_in_readable_units() -> None:
    row = Row("Migrations: apply", "dbmate up", [1.5, 0.02, 3.0])
    assert (row.median, row.min, row.max) == (1.5, 0.02, 3.0)
    readable = [fmt(v, "s") for v in (12.34, 1.5, 0.02, 0.0042)]
    assert readable == ["12.3 s", "1.50 s", "20 ms", "4.2 ms"]
    assert fmt(21_200_000, "B") == "21.2 MB"
    assert fmt(1.234, "x") == "1.23x"
