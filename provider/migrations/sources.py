"""Where migration files come from: inline lists, an S3 prefix, an S3 zip (or a local folder).

Every source becomes a ``SourceFiles``: relative paths to raw bytes (raw, so
drizzle's hash of the file can be recomputed exactly). Inline lists keep the
order they were written in; the layouts decide whether that order counts.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from provider.common.errors import InvalidProperty, ProviderError

MAX_SOURCE_BYTES = 256 * 1024 * 1024  # refuse a zip bomb or a mistaken bucket prefix
MAX_FILES = 20_000


@dataclass(frozen=True)
class SourceFiles:
    """Files by relative path (``/``-separated); ``ordered`` when the list order is meaningful."""

    files: Mapping[str, bytes]
    ordered: bool = False
    origin: str = "inline"
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
            return SourceFiles(unzip(body, uri), origin=uri)
        return SourceFiles(_read_prefix(s3, location), origin=uri)
    except ProviderError:
        raise
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise ProviderError(f"{prop}: could not read {uri} ({code}).") from exc


def _read_prefix(s3: Any, location: S3Location) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            relative = key[len(location.key) :]
            if not relative or key.endswith("/"):
                continue  # a console-made "folder"
            total += int(obj.get("Size", 0))
            if total > MAX_SOURCE_BYTES or len(files) >= MAX_FILES:
                raise ProviderError(f"s3://{location.bucket}/{location.key} holds too much data.")
            files[relative] = s3.get_object(Bucket=location.bucket, Key=key)["Body"].read()
    return files


def from_directory(root: str | os.PathLike[str]) -> SourceFiles:
    """Every regular file below ``root`` (hidden ones skipped), as an S3 prefix would give."""
    base = Path(root)
    if base.is_file() and base.suffix.lower() == ".zip":
        return SourceFiles(unzip(base.read_bytes(), str(base)), origin=str(base))
    files: dict[str, bytes] = {}
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
            files[relative] = path.read_bytes()
    return SourceFiles(files, origin=str(base))


def unzip(data: bytes, origin: str) -> dict[str, bytes]:
    """A zip's regular files by path (macOS metadata and folders skipped), size-bounded."""
    files: dict[str, bytes] = {}
    entries: dict[str, str] = {}  # normalized name -> the entry's name as stored
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = posixpath.normpath(info.filename.replace("\\", "/"))
                if info.is_dir() or name.startswith(("__MACOSX/", "../")) or name == "..":
                    continue
                total += info.file_size
                if total > MAX_SOURCE_BYTES or len(files) >= MAX_FILES:
                    raise ProviderError(f"{origin} expands to too much data.")
                key = name.lstrip("/")
                if key in entries:
                    # Silently keeping the last one would run a file nobody chose.
                    raise ProviderError(
                        f"{origin}: the entries {entries[key]!r} and {info.filename!r} are both "
                        f"{key} once their names are normalized: keep one."
                    )
                entries[key] = info.filename
                files[key] = archive.read(info)
    except zipfile.BadZipFile as exc:
        raise ProviderError(f"{origin} is not a valid zip file.") from exc
    return files
