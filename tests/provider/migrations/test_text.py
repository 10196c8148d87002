"""Files are read as written: CR/LF kept in what runs (not in checksums), a NUL byte refused."""

from __future__ import annotations

import io
import zipfile

import pytest

from provider.common.errors import ProviderError
from provider.migrations import layouts
from provider.migrations.layouts import LayoutError
from provider.migrations.sources import unzip
from tests.support.layouts import files


def test_crlf_is_kept_in_the_text_that_runs() -> None:
    (m,) = layouts.load(files({"V1__a.sql": b"INSERT INTO t VALUES ('a\r\nb');\r\n"}))
    assert m.sql == "INSERT INTO t VALUES ('a\r\nb');\r\n"


def test_the_checksum_ignores_line_endings() -> None:
    (lf,) = layouts.load(files({"V1__a.sql": b"SELECT 1;\nSELECT 2;\n"}))
    (crlf,) = layouts.load(files({"V1__a.sql": b"SELECT 1;\r\nSELECT 2;\r\n"}))
    assert lf.checksum == crlf.checksum


def test_a_leading_bom_is_dropped() -> None:
    (m,) = layouts.load(files({"V1__a.sql": b"\xef\xbb\xbfSELECT 1;"}))
    assert m.sql == "SELECT 1;"


def test_a_nul_byte_is_refused_naming_the_file_and_line() -> None:
    with pytest.raises(LayoutError, match=r"V1__a\.sql line 2 holds a NUL byte"):
        layouts.load(files({"V1__a.sql": b"SELECT 1;\nSELECT '\x00';"}))


def test_a_nul_byte_in_a_seed_is_refused_too() -> None:
    with pytest.raises(LayoutError, match=r"s\.sql line 1 holds a NUL byte"):
        layouts.seeds(files({"s.sql": b"\x00"}))


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, f"-- {name}")
    return buffer.getvalue()


def test_zip_entries_that_collide_once_normalized_fail_naming_both() -> None:
    with pytest.raises(ProviderError, match=r"'a/V1__x\.sql' and 'a\\\\V1__x\.sql' are both"):
        unzip(zipped("a/V1__x.sql", "a\\V1__x.sql"), "m.zip")


def test_zip_entries_with_distinct_names_are_all_kept() -> None:
    assert sorted(unzip(zipped("a/V1__x.sql", "./b/V2__y.sql"), "m.zip").files) == [
        "a/V1__x.sql",
        "b/V2__y.sql",
    ]
