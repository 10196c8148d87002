"""An S3 prefix's objects: listed, bounded, fetched concurrently within the deadline, once.

10,000 objects fetched one by one take minutes; fetched again at every
poll of crhelper, more. So: the listing is checked against the bounds
before any object is read (S3's sizes are the objects' own), the objects
are fetched by a bounded pool of threads (boto3's clients are thread-safe)
that stops at the invocation's deadline, and what was fetched is kept in
``/tmp`` for the polls of the same request in a warm container, keyed by
the request and the listing's ETags (a changed object is fetched again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.common.deadline import Deadline
from provider.common.errors import ProviderError

if TYPE_CHECKING:
    from provider.migrations.sources import S3Location, SourceFiles, _Collector

WORKERS = 16
# Lambda's /tmp holds 512 MB by default; one request's sources at most are kept.
CACHE_MAX_BYTES = 256 * 1024 * 1024


def cache_dir() -> Path:
    return Path(os.environ.get("AURORA_EXPRESS_SOURCE_CACHE", tempfile.gettempdir())) / (
        "aurora-express-sources"
    )


def read(
    s3: Any,
    location: S3Location,
    found: _Collector,
    *,
    prop: str,
    deadline: Deadline | None,
    request_id: str | None,
) -> SourceFiles:
    listing = list(_listing(s3, location))
    # The bounds, before anything is fetched.
    found.check_listing([size for relative, _k, size, _e in listing if found.keeps(relative)])
    cached = _cache_path(request_id, location, listing)
    if cached is not None and cached.is_file():
        return _load(cached, found)
    _fetch(s3, location, listing, found, prop=prop, deadline=deadline)
    if cached is not None:
        _store(cached, found)
    return found.source()


def _listing(s3: Any, location: S3Location) -> Iterator[tuple[str, str, int, str]]:
    """(path below the prefix, key, size, ETag) of each object, console "folders" left out."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            relative = key[len(location.key) :]
            if relative and not key.endswith("/"):
                yield relative, key, int(obj.get("Size", 0)), str(obj.get("ETag", ""))


def _fetch(
    s3: Any,
    location: S3Location,
    listing: list[tuple[str, str, int, str]],
    found: _Collector,
    *,
    prop: str,
    deadline: Deadline | None,
) -> None:
    wanted = [(relative, key) for relative, key, _size, _etag in listing if found.keeps(relative)]

    def get(key: str) -> bytes:
        return found.read_bounded(s3.get_object(Bucket=location.bucket, Key=key)["Body"])

    # Reading the source is no unit of work to put off to a later poll: it may take the
    # invocation's time to its hard end, and must not use up the first migration's check.
    deadline = deadline.hard if deadline is not None else None
    if deadline is not None and deadline.expired():
        raise _out_of_time(prop, location, 0, len(wanted))
    pool = ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(wanted))))
    try:
        futures: dict[Future[bytes], str] = {
            pool.submit(get, key): relative for relative, key in wanted
        }
        timeout = deadline.remaining() if deadline is not None else None
        done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        if pending:
            raise _out_of_time(prop, location, len(done), len(futures))
        for future, relative in sorted(futures.items(), key=lambda item: item[1]):
            found.put(relative, future.result())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _out_of_time(prop: str, location: S3Location, done: int, wanted: int) -> ProviderError:
    return ProviderError(
        f"{prop}: s3://{location.bucket}/{location.key}: {done} of {wanted} objects were read "
        "before the invocation's time ran out: give the function a longer timeout, or ship "
        "the migrations as one .zip."
    )


def _cache_path(
    request_id: str | None, location: S3Location, listing: list[tuple[str, str, int, str]]
) -> Path | None:
    if not request_id:
        return None
    request = hashlib.sha256(request_id.encode()).hexdigest()[:16]
    contents = hashlib.sha256(f"{location.bucket}\0{location.key}".encode())
    for _relative, key, size, etag in listing:
        contents.update(f"\0{key}\0{size}\0{etag}".encode())
    return cache_dir() / f"{request}-{contents.hexdigest()[:32]}.zip"


def _load(path: Path, found: _Collector) -> SourceFiles:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            found.put(info.filename, archive.read(info))
    return found.source()


def _store(path: Path, found: _Collector) -> None:
    """Keep the files for this request's polls; the other requests' are removed.

    Best effort: a full ``/tmp`` (or more than CACHE_MAX_BYTES for the request)
    only means the next poll fetches again.
    """
    folder = path.parent
    request = path.name.split("-", 1)[0]
    partial = path.with_suffix(".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = 0
        for old in folder.iterdir():
            if old.name.startswith(f"{request}-"):
                kept += old.stat().st_size
            else:
                old.unlink(missing_ok=True)
        if kept + found.total > CACHE_MAX_BYTES:
            return
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
            for relative, data in found.files.items():
                archive.writestr(relative, data)
        partial.replace(path)  # whole or absent, should the function be stopped mid-write
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
