"""What the CLI's tests share: the cluster they look up and the flags that reach the server."""

from __future__ import annotations

import os

from aurora_express.local.embedded_pg import EmbeddedPostgres

CLUSTER = "app-feature-abc-123-login"


def endpoint_args(pg: EmbeddedPostgres) -> list[str]:
    return ["--endpoint", pg.host, "--port", str(pg.port)]


def clean_env() -> dict[str, str]:
    """The environment for a CLI subprocess: the suite's fake AWS settings, no real ones."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_PROFILE")}
