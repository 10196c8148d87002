"""The bounds of a source: sized to the function's memory, counted as a zip inflates."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import pytest

from provider.common.errors import ProviderError
from provider.migrations import sources

MB = 1024 * 1024


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def understating(data: bytes, size: int) -> bytes:
    """``data`` (a one-entry zip) with both its headers claiming the entry inflates to ``size``."""
    patched = bytearray(data)
    local = patched.index(b"PK\x03\x04")
    central = patched.index(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, size)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def test_outside_lambda_the_bound_is_fixed() -> None:
    assert sources.max_source_bytes({}) == sources.FIXED_MAX_SOURCE_BYTES


def test_in_lambda_the_bound_follows_the_functions_memory() -> None:
    bounds = [
        sources.max_source_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(mb)})
        for mb in (512, 1024, 2048)
    ]
    assert bounds == sorted(bounds)
    assert bounds[1] * sources.BYTES_PER_SOURCE_BYTE + sources.RUNTIME_BYTES <= 0.6 * 1024 * MB


def test_the_largest_function_keeps_the_fixed_bound() -> None:
    biggest = sources.max_source_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"})
    assert biggest == sources.FIXED_MAX_SOURCE_BYTES


def test_a_zip_past_the_bound_is_refused_naming_the_property_and_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", 2 * MB)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
    data = zipped("V1__a.sql", b" " * (3 * MB))
    with pytest.raises(ProviderError) as refused:
        sources.unzip(data, "s3://app/db.zip", where="MigrationsS3Uri: s3://app/db.zip")
    assert str(refused.value).startswith(
        "MigrationsS3Uri: s3://app/db.zip holds more than 2 MB or 20000 files, the most a source "
        "may hold (sized to the function's 1024 MB of memory)"
    )


def test_a_zip_whose_header_understates_its_size_is_never_inflated_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", 8 * MB)
    data = understating(zipped("V1__a.sql", b" " * (200 * MB)), 100)  # 200 MB in 200 KB
    tracemalloc.start()
    try:
        with pytest.raises(ProviderError, match=r"db\.zip is not a valid zip file"):
            sources.unzip(data, "db.zip")  # its CRC fails, past the 100 bytes it claims
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB


def test_a_size_declared_past_the_bound_is_refused_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", 4 * MB)
    data = understating(zipped("V1__a.sql", b"SELECT 1;"), 5 * MB)
    with pytest.raises(ProviderError, match="holds more than 4 MB"):
        sources.unzip(data, "db.zip")
