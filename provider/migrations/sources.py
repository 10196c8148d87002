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
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from provider.common.deadline import Deadline
from provider.common.errors import InvalidProperty, ProviderError
from provider.migrations import s3_prefix

# Outside Lambda (the CLI, the demo): a generous fixed bound, against a zip bomb
# or a mistaken bucket prefix.
FIXED_MAX_SOURCE_BYTES = 256 * 1024 * 1024
MAX_FILES = 20_000
# In Lambda the bound follows the function's memory: reading, arranging,
# splitting and sending a source take up to BYTES_PER_SOURCE_BYTE bytes of
# memory a byte of SQL (measured in tests/provider/migrations/test_source_memory.py:
# about 10 for INSERT lines, 7 for a file of spaces, 13 for lines of SELECT 1),
# on top of the runtime's own, and the run stays within MEMORY_SHARE of the
# function: at most 50 %, so a test may hold it to 60.
BYTES_PER_SOURCE_BYTE = 12
RUNTIME_BYTES = 120 * 1024 * 1024
MEMORY_SHARE = 0.5
CHUNK_BYTES = 1024 * 1024  # how much of a zip entry is inflated at a time


def max_source_bytes(environ: Mapping[str, str] = os.environ) -> int:
    """The most a source may hold: sized to ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` (MB) in Lambda."""
    memory_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if not memory_mb.isdigit():
        return FIXED_MAX_SOURCE_BYTES
    usable = int(memory_mb) * 1024 * 1024 * MEMORY_SHARE - RUNTIME_BYTES
    return min(FIXED_MAX_SOURCE_BYTES, max(1024 * 1024, int(usable / BYTES_PER_SOURCE_BYTE)))


MAX_SOURCE_BYTES = max_source_bytes()  # read once, at cold start


def megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size} bytes"
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def too_much(where: str, limit: int) -> str:
    """Why a source was refused: where, the limit, and what to do."""
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    sized = f" (sized to the function's {memory} MB of memory)" if memory else ""
    more = ", or give the migrations function more memory" if memory else ""
    return (
        f"{where} holds more than {megabytes(limit)} or {MAX_FILES} files, the most a "
        f"source may hold{sized}: split it{more}."
    )


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

    def __init__(self, origin: str, where: str) -> None:
        self.origin = origin
        self.where = where
        self.files: dict[str, bytes] = {}
        self.total = 0

    def refuse(self) -> ProviderError:
        return ProviderError(too_much(self.where, MAX_SOURCE_BYTES))

    def add(self, path: str, read: Callable[[], bytes], size: int | None = None) -> None:
        """Keep ``read()`` as ``path``; a declared ``size`` is refused before reading."""
        if skipped(path):
            return
        if len(self.files) >= MAX_FILES or self.total + (size or 0) > MAX_SOURCE_BYTES:
            raise self.refuse()
        self.put(path, read())

    def put(self, path: str, data: bytes) -> None:
        """Keep ``data`` as ``path``: what was read counts, whatever was declared."""
        if skipped(path):
            return
        self.total += len(data)
        if self.total > MAX_SOURCE_BYTES or len(self.files) >= MAX_FILES:
            raise self.refuse()
        self.files[path] = data

    @staticmethod
    def keeps(path: str) -> bool:
        return not skipped(path)

    def check_listing(self, sizes: Sequence[int]) -> None:
        """Refuse a listing (S3's sizes are the objects' own) before any of it is read."""
        if len(sizes) > MAX_FILES or self.total + sum(sizes) > MAX_SOURCE_BYTES:
            raise self.refuse()

    def read_bounded(self, stream: IO[bytes]) -> bytes:
        """``stream`` a chunk at a time, refused as soon as it outgrows the room left."""
        room = MAX_SOURCE_BYTES - self.total
        chunks: list[bytes] = []
        got = 0
        while chunk := stream.read(CHUNK_BYTES):
            got += len(chunk)
            if got > room:
                raise self.refuse()
            chunks.append(chunk)
        return b"".join(chunks)

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


def from_s3(
    s3: Any,
    uri: str,
    prop: str,
    *,
    deadline: Deadline | None = None,
    request_id: str | None = None,
) -> SourceFiles:
    """Every object below the prefix, or every file in the zip, read with the client ``s3``.

    A prefix's objects are fetched concurrently, before ``deadline``, and kept
    for the polls of ``request_id`` (see ``s3_prefix``).
    """
    location = parse_s3_uri(uri, prop)
    where = f"{prop}: {uri}"
    try:
        if location.is_zip:
            found = _Collector(uri, where)
            body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"]
            return unzip(found.read_bounded(body), uri, where=where)
        return s3_prefix.read(
            s3,
            location,
            _Collector(uri, where),
            prop=prop,
            deadline=deadline,
            request_id=request_id,
        )
    except ProviderError:
        raise
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise ProviderError(f"{prop}: could not read {uri} ({code}).") from exc


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
    found = _Collector(str(base), str(base))
    for folder, subfolders, names in os.walk(base):
        subfolders[:] = sorted(d for d in subfolders if not _skipped_part(d))
        for name in names:
            path = Path(folder, name)
            if path.is_file():
                found.add(path.relative_to(base).as_posix(), path.read_bytes, path.stat().st_size)
    return found.source()


def unzip(data: bytes, origin: str, *, where: str | None = None) -> SourceFiles:
    """A zip's regular files by path (folders and paths out of it left out), size-bounded.

    Two entries whose names are one path once normalized (``a\\b.sql``,
    ``a/b.sql``, ``./a/b.sql``) fail: keeping the last would run a file nobody chose.
    The entries' declared sizes are not trusted: what inflates is counted, a
    chunk at a time, and refused past the bound (``read()`` of a whole entry
    inflates all its compressed data in one call, whatever its header says).
    """
    found = _Collector(origin, where or origin)
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
                    with archive.open(info) as entry:
                        return found.read_bounded(entry)

                found.add(name, read, info.file_size)  # a size declared too big: refused unread
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ProviderError(f"{origin} is not a valid zip file.") from exc
    return found.source()
