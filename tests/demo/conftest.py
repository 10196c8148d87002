"""The demo's tests share the CLI tests' temp-folder fixture (the server's user must reach it)."""

from __future__ import annotations

from tests.cli.conftest import open_tmp

__all__ = ["open_tmp"]
