"""Migration sources: inline lists, S3 prefixes and S3 zips (moto), local folders."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from provider.common.errors import InvalidProperty, ProviderError
from provider.migrations import layouts, sources
from provider.migrations.properties import SqlItem
from tests.support.migrations import EXAMPLES


@pytest.fixture
def s3(app_bucket: Any) -> Any:
    return app_bucket


def test_an_s3_prefix_gives_every_object_below_it(s3: Any) -> None:
    s3.put_object(Bucket="app", Key="db/migrations/V1__a.sql", Body=b"SELECT 1;")
    s3.put_object(Bucket="app", Key="db/migrations/sub/V2__b.sql", Body=b"SELECT 2;")
    s3.put_object(Bucket="app", Key="db/migrations/", Body=b"")  # a console "folder"
    s3.put_object(Bucket="app", Key="db/other/V9__x.sql", Body=b"")
    found = sources.from_s3(s3, "s3://app/db/migrations/", "MigrationsS3Uri")
    assert dict(found.files) == {"V1__a.sql": b"SELECT 1;", "sub/V2__b.sql": b"SELECT 2;"}


def test_an_s3_prefix_without_its_trailing_slash_means_the_folder(s3: Any) -> None:
    s3.put_object(Bucket="app", Key="db/migrations/V1__a.sql", Body=b"")
    s3.put_object(Bucket="app", Key="db/migrations-old/V1__a.sql", Body=b"")
    found = sources.from_s3(s3, "s3://app/db/migrations", "MigrationsS3Uri")
    assert list(found.files) == ["V1__a.sql"]


def test_an_s3_zip_gives_every_file_in_it(s3: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("drizzle/meta/_journal.json", "{}")
        archive.writestr("drizzle/0000_a.sql", "SELECT 1;")
        archive.writestr("__MACOSX/drizzle/._0000_a.sql", "junk")
        archive.writestr("drizzle/", "")
    s3.put_object(Bucket="app", Key="releases/db.zip", Body=buffer.getvalue())
    found = sources.from_s3(s3, "s3://app/releases/db.zip", "MigrationsS3Uri")
    assert sorted(found.files) == ["drizzle/0000_a.sql", "drizzle/meta/_journal.json"]


def test_a_missing_bucket_fails_naming_the_property_and_uri(s3: Any) -> None:
    with pytest.raises(
        ProviderError, match=r"SeedsS3Uri: could not read s3://nope/x/ \(NoSuchBucket\)"
    ):
        sources.from_s3(s3, "s3://nope/x/", "SeedsS3Uri")


def test_a_corrupt_zip_is_reported(s3: Any) -> None:
    s3.put_object(Bucket="app", Key="db.zip", Body=b"not a zip")
    with pytest.raises(ProviderError, match="not a valid zip"):
        sources.from_s3(s3, "s3://app/db.zip", "MigrationsS3Uri")


def test_a_uri_that_is_not_s3_names_the_property() -> None:
    with pytest.raises(InvalidProperty, match="MigrationsS3Uri"):
        sources.parse_s3_uri("s3:///nobucket", "MigrationsS3Uri")


def test_inline_items_keep_their_order_and_refuse_duplicate_names() -> None:
    items = [SqlItem(Name="b", Sql="SELECT 2"), SqlItem(Name="a", Sql="SELECT 1")]
    found = sources.inline(items, "Migrations")
    assert found.paths() == ["b", "a"]
    with pytest.raises(InvalidProperty, match="Migrations: the name 'a' appears twice"):
        sources.inline([*items, SqlItem(Name="a", Sql="")], "Migrations")


def test_a_local_folder_reads_like_an_s3_prefix() -> None:
    found = sources.from_directory(EXAMPLES / "drizzle")
    assert "meta/_journal.json" in found.files
    assert [m.name for m in layouts.load(found)] == ["0000_lush_firestar.sql", "0001_wild_nova.sql"]
