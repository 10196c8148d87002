"""Atlas folders: atlas.sum verified as Atlas computes it, before anything runs."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import LayoutError, atlas
from tests.support.layouts import EXAMPLES, files


def folder(sql: dict[str, str], *, sum_text: str | None = None) -> dict[str, str | bytes]:
    entries = atlas.hash_entries(sorted((n, t.encode()) for n, t in sql.items()))
    computed = f"h1:{atlas.total_sum(entries)}\n" + "".join(f"{n} h1:{h}\n" for n, h in entries)
    return {**sql, "atlas.sum": computed if sum_text is None else sum_text}


def test_the_sample_folders_sum_is_what_atlas_writes() -> None:
    # The sample's atlas.sum was checked against atlas.sum files written by Atlas itself.
    sql = {p.name: p.read_text() for p in (EXAMPLES / "atlas").glob("*.sql")}
    assert folder(sql)["atlas.sum"] == (EXAMPLES / "atlas" / "atlas.sum").read_text()


def test_files_run_in_name_order_with_the_version_before_the_first_underscore() -> None:
    source = files(
        folder({"2_b.sql": "SELECT 2;", "10_c.sql": "SELECT 10;", "1_a.sql": "SELECT 1;"})
    )
    assert [m.version for m in layouts.load(source)] == ["10", "1", "2"]  # bytes, as Atlas


def test_a_changed_file_fails_naming_it() -> None:
    good = folder({"1_a.sql": "SELECT 1;", "2_b.sql": "SELECT 2;"})
    source = files({**good, "2_b.sql": "SELECT 20;"})
    with pytest.raises(
        LayoutError, match=r"atlas\.sum does not match the folder: 2_b\.sql was changed"
    ):
        layouts.load(source)


def test_a_file_missing_from_the_sum_fails_naming_it() -> None:
    good = folder({"1_a.sql": "SELECT 1;"})
    with pytest.raises(LayoutError, match=r"0_new\.sql is not listed"):
        layouts.load(files({**good, "0_new.sql": "SELECT 0;"}))


def test_a_hand_edited_sum_file_fails() -> None:
    good = folder({"1_a.sql": "SELECT 1;"})
    edited = str(good["atlas.sum"]).replace("h1:", "h1:x", 1)
    with pytest.raises(LayoutError, match="inconsistent"):
        layouts.load(files({**good, "atlas.sum": edited}))


def test_a_folder_without_its_sum_fails_as_atlas_fails() -> None:
    with pytest.raises(LayoutError, match=r"no atlas\.sum"):
        layouts.load(files({"1_a.sql": "SELECT 1;"}), "atlas")


def test_a_file_with_sum_ignore_is_outside_the_sum() -> None:
    source = files(folder({"1_a.sql": "SELECT 1;", "2_b.sql": "-- atlas:sum ignore\nSELECT 2;"}))
    assert "2_b.sql" not in str(source.files["atlas.sum"])
    assert len(layouts.load(source)) == 2


def test_txmode_none_runs_outside_a_transaction() -> None:
    (m,) = layouts.load(files(folder({"1_i.sql": "-- atlas:txmode none\n\nSELECT 1;"})))
    assert not m.transactional


def test_txmode_all_is_refused_in_a_file_as_atlas_refuses_it() -> None:
    with pytest.raises(LayoutError, match="txmode all"):
        layouts.load(files(folder({"1_i.sql": "-- atlas:txmode all\n\nSELECT 1;"})))


def test_a_checkpoint_file_is_refused() -> None:
    source = files(folder({"1_c.sql": "-- atlas:checkpoint\n\nSELECT 1;"}))
    with pytest.raises(LayoutError, match=r"1_c\.sql is an Atlas checkpoint file"):
        layouts.load(source)
