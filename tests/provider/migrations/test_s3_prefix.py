"""An S3 prefix (moto): bounded before any read, fetched concurrently within the deadline, once
for the polls of a request."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from provider.common.deadline import Deadline, InvocationDeadline
from provider.common.errors import ProviderError
from provider.migrations import s3_prefix, sources

URI = "s3://app/db/"


class GetObjectCount:
    """The GetObject calls a client makes, seen by botocore's own event hooks."""

    def __init__(self, client: Any) -> None:
        self.calls = 0
        client.meta.events.register("before-call.s3.GetObject", self._seen)

    def _seen(self, **_: Any) -> None:
        self.calls += 1


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AURORA_EXPRESS_SOURCE_CACHE", str(tmp_path))
    return s3_prefix.cache_dir()


@pytest.fixture
def s3(app_bucket: Any) -> Any:
    return app_bucket


def put(s3: Any, count: int, body: bytes = b"SELECT 1;") -> None:
    for i in range(count):
        s3.put_object(Bucket="app", Key=f"db/V{i + 1}__m.sql", Body=body)


def read(s3: Any, request_id: str | None = "request-1", **kwargs: Any) -> sources.SourceFiles:
    return sources.from_s3(s3, URI, "MigrationsS3Uri", request_id=request_id, **kwargs)


def test_the_polls_of_a_request_do_not_fetch_the_objects_again(s3: Any) -> None:
    put(s3, 30)
    count = GetObjectCount(s3)
    first = read(s3)
    assert count.calls == 30
    for _poll in range(3):
        assert read(s3) == first
    assert count.calls == 30


def test_another_request_fetches_again_and_clears_the_last_ones_files(s3: Any, cache: Path) -> None:
    put(s3, 3)
    count = GetObjectCount(s3)
    read(s3, "request-1")
    read(s3, "request-2")
    assert count.calls == 6
    assert len(list(cache.glob("*.zip"))) == 1


def test_an_object_changed_between_polls_is_fetched_again(s3: Any) -> None:
    put(s3, 2)
    read(s3)
    s3.put_object(Bucket="app", Key="db/V2__m.sql", Body=b"SELECT 2;")
    assert read(s3).files["V2__m.sql"] == b"SELECT 2;"


def test_without_a_request_nothing_is_kept(s3: Any, cache: Path) -> None:
    put(s3, 2)
    read(s3, None)
    assert not cache.exists() or not list(cache.iterdir())


def test_a_listing_over_the_bounds_is_refused_before_any_object_is_fetched(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(s3, 3, b"x" * 1000)
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", 2500)
    count = GetObjectCount(s3)
    with pytest.raises(ProviderError, match=r"MigrationsS3Uri: s3://app/db/ holds more than 2500"):
        read(s3)
    assert count.calls == 0


def test_a_fetch_that_cannot_finish_in_time_fails_saying_so(s3: Any) -> None:
    put(s3, 3)
    with pytest.raises(ProviderError, match=r"MigrationsS3Uri: s3://app/db/: 0 of 3 objects were"):
        read(s3, deadline=Deadline.after(0))


def test_the_fetch_leaves_the_invocations_first_migration_its_start(s3: Any) -> None:
    # Past the margin, before the hard end: the objects are read, and the engine's first
    # check still answers against the hard end, so the invocation applies a migration.
    put(s3, 3)
    now = time.monotonic()
    deadline = InvocationDeadline(at=now - 1, hard_at=now + 600)
    assert len(read(s3, deadline=deadline, request_id=None).files) == 3
    assert not deadline.expired()  # the first migration may start
    assert deadline.expired()  # later ones may not


def test_ten_thousand_small_objects_are_read(s3: Any) -> None:
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for i in range(10_000):  # moto's own store, filled directly: the test is the reading
        backend.put_object("app", f"db/V{i + 1}__m.sql", b"SELECT 1;")
    count = GetObjectCount(s3)
    found = read(s3, deadline=Deadline.after(600))
    assert len(found.files) == 10_000
    assert count.calls == 10_000
    assert list(found.files)[:2] == ["V10000__m.sql", "V1000__m.sql"]  # in the order of paths


def test_a_request_keeps_no_more_than_the_cache_bound(
    s3: Any, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(s3, 2, b"x" * 1000)
    monkeypatch.setattr(s3_prefix, "CACHE_MAX_BYTES", 1500)
    count = GetObjectCount(s3)
    read(s3)
    read(s3)
    assert count.calls == 4  # fetched again, nothing kept
    assert not list(cache.glob("*.zip"))


def test_a_cache_that_cannot_be_written_only_costs_a_fetch(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("AURORA_EXPRESS_SOURCE_CACHE", str(tmp_path / "file"))  # not a folder
    put(s3, 2)
    assert list(read(s3).files) == ["V1__m.sql", "V2__m.sql"]
