"""The pure rules: each tool's rows, as its source writes them, judged against the folder."""

from __future__ import annotations

import base64
import hashlib

from provider.migrations import tool_history
from provider.migrations.model import DrizzleMeta, Kind, Migration
from provider.migrations.tool_history.atlas import running_hashes
from provider.migrations.tool_history.base import key
from provider.migrations.tool_history.dbmate import DbmateSnapshot
from provider.migrations.tool_history.drizzle import DrizzleRow, DrizzleSnapshot
from provider.migrations.tool_history.flyway import FlywayRow, FlywaySnapshot, checksum
from provider.migrations.tool_history.golang_migrate import GolangMigrateSnapshot
from provider.migrations.tool_history.goose import GooseSnapshot
from provider.migrations.tool_history.prisma import PrismaRow, PrismaSnapshot
from provider.migrations.tool_history.sqitch import ChangeRow, SqitchSnapshot
from tests.provider.migrations.tools import tool_migration


def plain(name: str, version: str, sql: str = "SELECT 1;\n") -> Migration:
    return Migration(name, version, Kind.VERSIONED, sql)


def test_a_layout_without_a_tool_table_has_no_adapter() -> None:
    assert tool_history.for_layout("plain", "public") is None
    assert tool_history.for_layout(None, "public") is None


def test_the_layout_comes_from_the_readers_tool_metadata() -> None:
    ms = [tool_migration("00001_a.sql", "1", "SELECT 1;", "goose")]
    assert tool_history.layout_of(ms) == "goose"


def test_dbmate_matches_the_version_as_written_leading_zeros_kept() -> None:
    ms = [plain("001_a.sql", "1"), plain("002_b.sql", "2")]
    verdict = DbmateSnapshot("dbmate", exists=True, versions=frozenset({"001"})).verdict(ms)
    assert verdict.applied == {key(ms[0])}


def test_golang_migrate_counts_every_version_at_or_below_its_row() -> None:
    ms = [plain("1_a.up.sql", "1"), plain("3_b.up.sql", "3"), plain("4_c.up.sql", "4")]
    verdict = GolangMigrateSnapshot("golang-migrate", exists=True, version=3).verdict(ms)
    assert verdict.applied == {key(ms[0]), key(ms[1])}


def test_an_empty_golang_migrate_table_means_nothing_applied() -> None:
    ms = [plain("1_a.up.sql", "1")]
    assert GolangMigrateSnapshot("golang-migrate", exists=True).verdict(ms).applied == set()


def test_goose_follows_the_newest_row_of_each_version() -> None:
    ms = [plain("1_a.sql", "1"), plain("2_b.sql", "2")]
    rows = ((0, True), (1, True), (2, True), (2, False))
    assert GooseSnapshot("goose", exists=True, rows=rows).verdict(ms).applied == {key(ms[0])}


def test_prisma_reapplies_a_rolled_back_migration_and_accepts_crlf_checksums() -> None:
    lf = "CREATE TABLE a ();\n"
    crlf_sum = hashlib.sha256(lf.replace("\n", "\r\n").encode()).hexdigest()
    ms = [
        tool_migration("1_a/migration.sql", "1_a", lf, "prisma", script="1_a"),
        tool_migration("2_b/migration.sql", "2_b", "SELECT 1;\n", "prisma", script="2_b"),
    ]
    rows = (
        PrismaRow("1_a", crlf_sum, finished=True, rolled_back=False),
        PrismaRow("2_b", "x" * 64, finished=False, rolled_back=True),
    )
    verdict = PrismaSnapshot("prisma", exists=True, rows=rows).verdict(ms)
    assert verdict.applied == {key(ms[0])}
    assert verdict.changed == ()
    assert verdict.problem is None


def test_drizzle_1_decides_by_name_and_0_x_rows_by_time() -> None:
    def folder(ts: str, when: int) -> Migration:
        sql = f"-- {ts}\n"
        meta = DrizzleMeta(hashlib.sha256(sql.encode()).hexdigest(), when)
        return Migration(f"{ts}_m/migration.sql", ts, Kind.VERSIONED, sql, drizzle=meta)

    ms = [folder("20250101000000", 100), folder("20250102000000", 200), folder("2025010300", 50)]
    rows = (
        DrizzleRow(ms[0].drizzle.hash, 100, None),  # type: ignore[union-attr]
        DrizzleRow(ms[1].drizzle.hash, 200, "20250102000000_m"),  # type: ignore[union-attr]
    )
    verdict = DrizzleSnapshot("drizzle-kit", exists=True, rows=rows, has_name=True).verdict(ms)
    # ms[2] is older than the nameless row: 0.x's rule counts it applied, as 0.x would.
    assert verdict.applied == {key(ms[0]), key(ms[1]), key(ms[2])}


def test_drizzle_1_reports_a_named_row_whose_hash_differs() -> None:
    meta = DrizzleMeta("a" * 64, 100)
    m = Migration("20250101000000_m/migration.sql", "1", Kind.VERSIONED, "", drizzle=meta)
    rows = (DrizzleRow("b" * 64, 100, "20250101000000_m"),)
    verdict = DrizzleSnapshot("drizzle-kit", exists=True, rows=rows, has_name=True).verdict([m])
    assert verdict.changed == (m,)


def test_flyway_treats_an_undone_version_as_not_applied() -> None:
    m = plain("V1__a.sql", "1")
    rows = (
        FlywayRow(1, "1", "a", "SQL", "V1__a.sql", checksum(b"SELECT 1;\n"), True),
        FlywayRow(2, "1", "a", "UNDO_SQL", "U1__a.sql", None, True),
    )
    assert FlywaySnapshot("flyway", exists=True, rows=rows).verdict([m]).applied == set()


def test_sqitch_matches_a_reworked_change_by_its_place_among_those_of_its_name() -> None:
    ms = [
        tool_migration("deploy/a@v1.sql", "a", "x", "sqitch", script="a", extra={"project": "p"}),
        tool_migration("deploy/a.sql", "a#2", "y", "sqitch", script="a", extra={"project": "p"}),
    ]
    rows = (ChangeRow("id1", "a", "p", None),)
    verdict = SqitchSnapshot("sqitch", exists=True, rows=rows).verdict(ms)
    assert verdict.applied == {key(ms[0])}


def test_atlas_hashes_run_on_and_skip_a_file_that_asks_to_be_ignored() -> None:
    ms = [
        tool_migration("1_a.sql", "1", "A;\n", "atlas", script="1_a.sql"),
        tool_migration("2_b.sql", "2", "-- atlas:sum ignore\n\nB;\n", "atlas", script="2_b.sql"),
        tool_migration("3_c.sql", "3", "C;\n", "atlas", script="3_c.sql"),
    ]
    digest = hashlib.sha256(b"1_a.sqlA;\n")
    first = digest.copy().digest()
    digest.update(b"2_b.sql" + b"3_c.sqlC;\n")
    sums = running_hashes(ms)
    assert set(sums) == {"1_a.sql", "3_c.sql"}
    assert sums["1_a.sql"] == base64.b64encode(first).decode()
    assert sums["3_c.sql"] == base64.b64encode(digest.digest()).decode()
