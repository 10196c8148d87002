"""Where migration files come from: inline lists, an S3 prefix, a zip, a local folder.

Every source becomes a ``SourceFiles``: relative paths to raw bytes (raw, so
drizzle's hash of the file can be recomputed exactly). Inline lists keep the
order they were written in; the layouts decide whether that order counts.

A folder, an S3 prefix and a zip holding the same tree give the same
``SourceFiles``: the same skip rule (``skipped``) and size bounds apply to
all three, and their files are kept in the order of their paths.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from provider.common.errors import InvalidProperty, ProviderError

MAX_SOURCE_BYTES = 256 * 1024 * 1024  # refuse a zip bomb or a mistaken bucket prefix
MAX_FILES = 20_000


class SourceMissing(ProviderError):
    """A local path that is neither a folder nor a ``.zip`` file."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: no such folder (or .zip file)")
        self.path = path


def skipped(path: str) -> bool:
    """Whether the file at ``path`` (relative, ``/``-separated) is left out of a source.

    It is when any part of its path, folders included:

    - starts with ``.``: hidden files and folders (``.git/``, ``.DS_Store``,
      macOS's ``._name`` forks, vim's ``.name.swp``);
    - is ``__MACOSX``: the folder of metadata macOS's Archive Utility adds to a zip;
    - ends with ``~`` (the backups of emacs, vim, gedit: ``V1__a.sql~``) or
      is ``#name#`` (emacs's auto-saves).

    No migration tool names a migration so, and each of these would
    otherwise be read as one (a backup ``V1__a.sql~`` aside, ``plain``
    takes any ``*.sql``).
    """
    return any(_skipped_part(part) for part in path.split("/"))


def _skipped_part(part: str) -> bool:
    return (
        part.startswith(".")
        or part == "__MACOSX"
        or part.endswith("~")
        or (len(part) > 1 and part.startswith("#") and part.endswith("#"))
    )


class _Collector:
    """Files of one source: the skip rule, the size bounds, then the paths' order."""

    def __init__(self, origin: str, too_much: str) -> None:
        self.origin = origin
        self.too_much = too_much
        self.files: dict[str, bytes] = {}
        self.total = 0

    def add(self, path: str, size: int, read: Callable[[], bytes]) -> None:
        if skipped(path):
            return
        self.total += size
        if self.total > MAX_SOURCE_BYTES or len(self.files) >= MAX_FILES:
            raise ProviderError(self.too_much)
        self.files[path] = read()

    def source(self) -> SourceFiles:
        return SourceFiles(dict(sorted(self.files.items())), origin=self.origin)


@dataclass(frozen=True)
class SourceFiles:
    """Files by relative path (``/``-separated); ``ordered`` when the list order is meaningful."""

    files: Mapping[str, bytes]
    ordered: bool = False
    origin: str = field(default="inline", compare=False)  # where it came from, not what it holds
    names: tuple[str, ...] = field(default=())

    def paths(self) -> list[str]:
        return list(self.names or self.files)


def inline(items: Sequence[Any], prop: str) -> SourceFiles:
    """``[{Name, Sql}]`` from the template, in the order written."""
    files: dict[str, bytes] = {}
    for item in items:
        name, text = item.name, item.sql
        if name in files:
            raise InvalidProperty(prop, f"the name {name!r} appears twice")
        files[name] = text.encode()
    return SourceFiles(files, ordered=True, origin="inline", names=tuple(files))


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def is_zip(self) -> bool:
        return self.key.lower().endswith(".zip")


def parse_s3_uri(uri: str, prop: str) -> S3Location:
    """``s3://bucket/prefix/`` or ``s3://bucket/key.zip``; anything else names ``prop``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidProperty(prop, "must be s3://bucket/prefix/ or s3://bucket/key.zip")
    key = parsed.path.lstrip("/")
    if key and not key.endswith("/") and not key.lower().endswith(".zip"):
        key += "/"  # a prefix written without its slash
    return S3Location(parsed.netloc, key)


def from_s3(s3: Any, uri: str, prop: str) -> SourceFiles:
    """Every object below the prefix, or every file in the zip, read with the client ``s3``."""
    location = parse_s3_uri(uri, prop)
    try:
        if location.is_zip:
            body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
            return unzip(body, uri)
        return _read_prefix(s3, location, uri)
    except ProviderError:
        raise
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise ProviderError(f"{prop}: could not read {uri} ({code}).") from exc


def _read_prefix(s3: Any, location: S3Location, origin: str) -> SourceFiles:
    found = _Collector(origin, f"s3://{location.bucket}/{location.key} holds too much data.")
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            relative = key[len(location.key) :]
            if not relative or key.endswith("/"):
                continue  # a console-made "folder"

            def read(key: str = key) -> bytes:
                return bytes(s3.get_object(Bucket=location.bucket, Key=key)["Body"].read())

            found.add(relative, int(obj.get("Size", 0)), read)
    return found.source()


def from_directory(root: str | os.PathLike[str]) -> SourceFiles:
    """Every regular file below the folder ``root``, or in the ``.zip`` file ``root``.

    What an S3 prefix (or zip) holding the same tree gives; skipped folders
    (``.git``, ...) are not walked into. ``SourceMissing`` for anything else.
    """
    base = Path(root)
    if base.is_file() and base.suffix.lower() == ".zip":
        return unzip(base.read_bytes(), str(base))
    if not base.is_dir():
        raise SourceMissing(str(root))
    found = _Collector(str(base), f"{base} holds too much data.")
    for folder, subfolders, names in os.walk(base):
        subfolders[:] = sorted(d for d in subfolders if not _skipped_part(d))
        for name in names:
            path = Path(folder, name)
            if path.is_file():
                found.add(path.relative_to(base).as_posix(), path.stat().st_size, path.read_bytes)
    return found.source()


def unzip(data: bytes, origin: str) -> SourceFiles:
    """A zip's regular files by path (folders and paths out of it left out), size-bounded.

    Two entries whose names are one path once normalized (``a\\b.sql``,
    ``a/b.sql``, ``./a/b.sql``) fail: keeping the last would run a file nobody chose.
    """
    found = _Collector(origin, f"{origin} expands to too much data.")
    entries: dict[str, str] = {}  # normalized name -> the entry's name as stored
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = posixpath.normpath(info.filename.replace("\\", "/")).lstrip("/")
                if info.is_dir() or name.startswith("../") or name in ("..", "."):
                    continue
                if name in entries:
                    raise ProviderError(
                        f"{origin}: the entries {entries[name]!r} and {info.filename!r} are both "
                        f"{name} once their names are normalized: keep one."
                    )
                entries[name] = info.filename

                def read(info: zipfile.ZipInfo = info) -> bytes:
                    return archive.read(info)

                found.add(name, info.file_size, read)
    except zipfile.BadZipFile as exc:
        raise ProviderError(f"{origin} is not a valid zip file.") from exc
    return found.source()
