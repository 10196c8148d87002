"""The one rule for the migrated database's name: the ``Database`` property's and the CLI's.

Apart from ``properties`` so that argparse can check ``--database`` without
importing pydantic and the property models (``aurora-express --help`` stays fast).
"""

from __future__ import annotations

# Databases RDS keeps for itself or PostgreSQL's templates: never created, never migrated.
RESERVED_DATABASES = frozenset({"template0", "template1", "rdsadmin"})
NAME_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes: a longer name is cut, not refused


def database_problem(name: str) -> str | None:
    """Why ``name`` cannot be the migrated database, or None (one rule: property and CLI)."""
    if not name or "\x00" in name:
        return "must be a database name of 1 to 63 bytes"
    if len(name.encode()) > NAME_BYTES:
        # PostgreSQL would create it cut to 63 bytes, then find no database by the full name.
        return f"must be at most {NAME_BYTES} bytes in UTF-8, not {len(name.encode())}"
    if name in RESERVED_DATABASES:
        return f"{name} is reserved (template databases, rdsadmin); name the application's own"
    return None
