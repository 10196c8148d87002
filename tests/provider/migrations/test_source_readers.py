"""One tree, three ways to ship it (a folder, an S3 prefix, a zip): the same ``SourceFiles``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from provider.common.errors import ProviderError
from provider.migrations import layouts, sources
from provider.migrations.sources import SourceFiles

# What a developer's checkout holds: migrations, and what editors, git and macOS leave.
TREE = {
    "V1__customers.sql": b"CREATE TABLE customers (id int);\n",
    "sub/V2__orders.sql": b"CREATE TABLE orders (id int);\r\n",  # raw bytes kept, CRLF too
    "notes/README.md": b"# migrations\n",
    ".DS_Store": b"\x00\x01",
    ".git/config": b"[core]\n",
    "._V1__customers.sql": b"AppleDouble",
    "__MACOSX/._V1__customers.sql": b"AppleDouble",
    "V1__customers.sql~": b"CREATE TABLE old (id int);\n",
    "#V3__draft.sql#": b"CREATE TABLE draft (id int);\n",
    "sub/.V2__orders.sql.swp": b"vim",
    ".hidden/V9__secret.sql": b"SELECT 1;\n",
}
KEPT = ["V1__customers.sql", "notes/README.md", "sub/V2__orders.sql"]


def write_tree(root: Path) -> Path:
    for path, data in TREE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sub/", b"")  # a folder entry, as zip tools add them
        for path, data in TREE.items():
            archive.writestr(path, data)
    return buffer.getvalue()


@pytest.fixture
def s3(app_bucket: Any) -> Any:
    for path, data in TREE.items():
        app_bucket.put_object(Bucket="app", Key=f"db/{path}", Body=data)
    app_bucket.put_object(Bucket="app", Key="db/sub/", Body=b"")  # a console-made "folder"
    app_bucket.put_object(Bucket="app", Key="release/db.zip", Body=zipped())
    return app_bucket


def test_a_folder_an_s3_prefix_and_a_zip_of_one_tree_give_the_same_files(
    tmp_path: Path, s3: Any
) -> None:
    folder = sources.from_directory(write_tree(tmp_path / "tree"))
    (tmp_path / "db.zip").write_bytes(zipped())
    local_zip = sources.from_directory(tmp_path / "db.zip")
    prefix = sources.from_s3(s3, "s3://app/db/", "MigrationsS3Uri")
    s3_zip = sources.from_s3(s3, "s3://app/release/db.zip", "MigrationsS3Uri")
    assert folder == prefix == local_zip == s3_zip
    assert list(folder.files) == KEPT  # in the order of their paths, whatever the listing's
    assert folder.files["sub/V2__orders.sql"] == TREE["sub/V2__orders.sql"]


def test_each_reader_says_where_its_files_came_from(tmp_path: Path, s3: Any) -> None:
    folder = sources.from_directory(write_tree(tmp_path))
    prefix = sources.from_s3(s3, "s3://app/db/", "MigrationsS3Uri")
    assert (folder.origin, prefix.origin) == (str(tmp_path), "s3://app/db/")


def test_the_three_give_the_same_migrations(tmp_path: Path, s3: Any) -> None:
    folder = layouts.load(sources.from_directory(write_tree(tmp_path)))
    prefix = layouts.load(sources.from_s3(s3, "s3://app/db/", "MigrationsS3Uri"))
    assert [m.name for m in folder] == ["V1__customers.sql", "sub/V2__orders.sql"]
    assert [(m.name, m.checksum) for m in folder] == [(m.name, m.checksum) for m in prefix]


@pytest.mark.parametrize(
    "path",
    [
        ".DS_Store",
        ".git/HEAD",
        "sub/.hidden/V1__a.sql",
        "._V1__a.sql",
        "__MACOSX/sub/._V1__a.sql",
        "V1__a.sql~",
        "sub/V1__a.sql~",
        "#V1__a.sql#",
        "backup~/V1__a.sql",
    ],
)
def test_hidden_files_macos_metadata_and_editor_backups_are_skipped(path: str) -> None:
    assert sources.skipped(path)


@pytest.mark.parametrize(
    "path", ["V1__a.sql", "sub/V1__a.sql", "meta/_journal.json", "a#b.sql", "#", "v1.sql.bak"]
)
def test_migration_files_are_kept(path: str) -> None:
    assert not sources.skipped(path)


def test_a_path_that_is_neither_a_folder_nor_a_zip_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    for path in (tmp_path / "missing", tmp_path / "notes.txt"):
        with pytest.raises(sources.SourceMissing, match="no such folder"):
            sources.from_directory(path)


def test_a_zip_entry_outside_the_archive_is_left_out() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.sql", b"SELECT 1;")
        archive.writestr("/abs/V1__a.sql", b"SELECT 1;")
    assert list(sources.unzip(buffer.getvalue(), "x.zip").files) == ["abs/V1__a.sql"]


def test_a_folder_is_bounded_like_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path)
    monkeypatch.setattr(sources, "MAX_FILES", 2)
    with pytest.raises(ProviderError, match=r"holds more than .* or 2 files"):
        sources.from_directory(tmp_path)


def test_equal_files_from_different_places_are_equal_sources() -> None:
    assert SourceFiles({"a": b"1"}, origin="here") == SourceFiles({"a": b"1"}, origin="there")
