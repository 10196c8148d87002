"""Atlas versioned migrations: ``*.sql`` beside ``atlas.sum``, in byte order of the name.

As ``sql/migrate/dir.go`` reads a directory: the folder's ``*.sql`` files,
sorted by name; the version is the name before its first ``_``, the
description the rest. ``atlas.sum`` is verified before anything runs, as
``atlas migrate apply`` does: its first line ``h1:<sum>`` must match its
entries, and every entry ``<file> h1:<hash>`` must match the running sha256
over the names and contents of all files up to that one (a file whose first
line is ``atlas:sum ignore`` adds its name only, and has no entry). A folder
of migrations without ``atlas.sum`` fails, as it fails Atlas.

File directives (the header comments, followed by a blank line):
``-- atlas:txmode none`` runs the file outside a transaction, ``file`` in one
(the default); ``all`` is refused in a file, as Atlas refuses it. A
``-- atlas:delimiter`` first line and checkpoint files (``atlas:checkpoint``)
are not supported: they fail the run, naming the file.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    check_unique,
    migration,
    one_folder,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

SUM_FILE = "atlas.sum"
_DIRECTIVE = re.compile(r"^([ -~]*)atlas:(\w+)(?: +([ -~]*))*", re.ASCII)


def sum_files(source: SourceFiles) -> list[str]:
    return [p for p in source.paths() if posixpath.basename(p) == SUM_FILE]


def directive(content: str, name: str, prefix: str | None = None) -> str | None:
    """Atlas's ``directive``: the value when ``content`` starts with an ``atlas:<name>`` line."""
    match = _DIRECTIVE.match(content)
    if match and match[2] == name and (prefix is None or match[1] == prefix):
        return match[3] or ""
    return None


def header_comments(content: str) -> list[str]:
    """Atlas's file comments: leading ``--``/``#`` lines, only when a blank line follows them."""
    comments: list[str] = []
    while content.startswith(("#", "--")):
        index = content.find("\n")
        if index == -1:
            comments.append(content)
            break
        comments.append(content[:index].strip())
        content = content[index + 1 :]
    return comments if content.startswith("\n") else []


def file_directives(content: str, name: str) -> list[str]:
    return [d for c in header_comments(content) if (d := directive(c, name)) is not None]


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def hash_entries(files: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """``NewHashFile``: (name, running hash) for each file the sum covers."""
    running = hashlib.sha256()
    entries = []
    for name, data in files:
        running.update(name.encode())
        if directive(data.decode("utf-8", "replace"), "sum") == "ignore":
            continue
        running.update(data)
        entries.append((name, _b64(running.copy().digest())))
    return entries


def total_sum(entries: list[tuple[str, str]]) -> str:
    whole = hashlib.sha256()
    for name, value in entries:
        whole.update(name.encode())
        whole.update(value.encode())
    return _b64(whole.digest())


def parse_sum(text: str, path: str) -> list[tuple[str, str]]:
    """atlas.sum's entries; a malformed file or one whose first line disagrees fails."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise LayoutError(f"{path} is empty: run 'atlas migrate hash'.")
    claimed = lines[0].removeprefix("h1:")
    entries = []
    for number, line in enumerate(lines[1:], 2):
        name, sep, value = line.partition("h1:")
        if not sep:
            raise LayoutError(
                f"{path} line {number} is not '<file> h1:<hash>': run 'atlas migrate hash'."
            )
        entries.append((name.strip(), value))
    if claimed != total_sum(entries):
        raise LayoutError(
            f"{path} is inconsistent (its first line does not sum its entries): it was edited by "
            "hand; run 'atlas migrate hash'."
        )
    return entries


def verify(expected: list[tuple[str, str]], actual: list[tuple[str, str]], path: str) -> None:
    """Fail naming the first file where the folder and atlas.sum part ways."""
    if total_sum(expected) == total_sum(actual):
        return
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) else None
        have = actual[index] if index < len(actual) else None
        if want == have:
            continue
        if have is None:
            assert want is not None
            what = f"{want[0]} is listed but missing from the folder"
        elif want is None or want[0] != have[0]:
            what = f"{have[0]} is not listed"
        else:
            what = f"{have[0]} was changed"
        raise LayoutError(
            f"{path} does not match the folder: {what}. Restore it, or run 'atlas migrate hash' "
            "if the change is intended."
        )


def _txmode(content: str, path: str) -> bool:
    """Whether the file runs in a transaction, per its ``atlas:txmode`` directive."""
    modes = file_directives(content, "txmode")
    if len(modes) > 1:
        raise LayoutError(f"{path} has more than one atlas:txmode directive: keep one.")
    if not modes or modes[0] == "file":
        return True
    if modes[0] == "none":
        return False
    if modes[0] == "all":
        raise LayoutError(
            f"{path}: 'atlas:txmode all' is not allowed in a file (Atlas refuses it too): use file."
        )
    raise LayoutError(f"{path}: unknown atlas:txmode {modes[0]!r}: write none or file.")


def read(source: SourceFiles) -> list[Migration]:
    sums = sum_files(source)
    if len(sums) > 1:
        raise LayoutError(f"More than one {SUM_FILE}: {', '.join(sorted(sums))}; give one folder.")
    if sums:
        folder = posixpath.dirname(sums[0])
    else:
        candidates = one_folder([p for p in source.paths() if p.endswith(".sql")], Layout.ATLAS)
        folder = posixpath.dirname(candidates[0]) if candidates else ""
    paths = sorted(
        (p for p in source.paths() if posixpath.dirname(p) == folder and p.endswith(".sql")),
        key=posixpath.basename,
    )
    if paths and not sums:
        raise LayoutError(
            f"The Atlas folder has no {SUM_FILE} (Atlas refuses to run without it): "
            "run 'atlas migrate hash'."
        )
    files = [(posixpath.basename(p), source.files[p]) for p in paths]
    if sums:
        expected = parse_sum(text_of(source.files[sums[0]], sums[0]), sums[0])
        verify(expected, hash_entries(files), sums[0])
    found = []
    for path in paths:
        raw = source.files[path]
        text = text_of(raw, path)
        name = posixpath.basename(path)
        if directive(text, "delimiter", "-- ") is not None:
            raise LayoutError(
                f"{path}: the atlas:delimiter directive is not supported (statements are split "
                "by PostgreSQL's own grammar here): remove it."
            )
        if file_directives(text, "checkpoint"):
            raise LayoutError(
                f"{path} is an Atlas checkpoint file, which is not supported: remove it and "
                "keep the migrations it summarizes."
            )
        stem = name.removesuffix(".sql")
        version, _, description = stem.partition("_")
        tool = ToolMeta(
            Layout.ATLAS.value, version=version, description=description, script=name, raw=raw
        )
        found.append(
            migration(
                path,
                version,
                Kind.VERSIONED,
                text,
                no_transaction=not _txmode(text, path),
                tool=tool,
            )
        )
    return check_unique(found)
