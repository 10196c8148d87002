"""The local PostgreSQL every migration tool runs against: TLS verify-full, IAM-token login.

One ``EmbeddedPostgres`` (``aurora_express.local.embedded_pg``) per bench run; a role whose
password is the exact IAM token ``generate_db_auth_token`` gives for this
host, port and user at the frozen instant ``FROZEN_AT``; a fresh database for
every timed run. The peers get that token as their password; the engine makes
it itself (in a child process whose clock is frozen at that instant).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aurora_express.local.embedded_pg import (
    FROZEN_AT,
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    EmbeddedPostgres,
    iam_token,
)
from bench import engine_run

assert engine_run.FROZEN_AT == FROZEN_AT, "engine_run.FROZEN_AT must match embedded_pg's"

USER = "bench"
REGION = "us-east-1"
# History tables the tools keep; the schema check leaves them out.
_HISTORY = ("schema_migrations", "pgmigrations", "__drizzle_migrations")
_HISTORY_SCHEMAS = ("drizzle", "aurora_express")

# One line per schema object of the user's schemas, sorted: tables, columns,
# constraints, indexes, views, comments and row counts are compared as text.
_SCHEMA_SQL = """
SELECT format('column %%s.%%s %%s %%s %%s %%s', c.relname, a.attname,
              format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
              pg_get_expr(d.adbin, d.adrelid))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND a.attnum > 0
  AND NOT a.attisdropped AND c.relname <> ALL(%(history)s)
UNION ALL
SELECT format('constraint %%s %%s %%s', conrelid::regclass, conname, pg_get_constraintdef(oid))
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  AND conrelid::regclass::text <> ALL(%(history)s)
UNION ALL
SELECT format('index %%s', indexdef) FROM pg_indexes
WHERE schemaname = 'public' AND tablename <> ALL(%(history)s)
UNION ALL
SELECT format('view %%s %%s', viewname, definition) FROM pg_views WHERE schemaname = 'public'
UNION ALL
SELECT format('comment %%s %%s', c.relname, obj_description(c.oid, 'pg_class'))
FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname <> ALL(%(history)s)
UNION ALL
SELECT format('schema %%s', nspname) FROM pg_namespace
WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> ALL(%(skip)s)
"""


@dataclass(frozen=True)
class Target:
    """Where a tool connects: one fresh database, over TLS as ``USER`` with the token."""

    host: str
    port: int
    database: str
    user: str
    token: str
    ca_path: Path

    def url(self) -> str:
        """A ``postgres://`` URL with ``sslmode=verify-full`` and the CA (dbmate, node)."""
        return (
            f"postgres://{self.user}:{quote(self.token, safe='')}@{self.host}:{self.port}/"
            f"{self.database}?sslmode=verify-full&sslrootcert={quote(str(self.ca_path))}"
        )

    def conninfo(self) -> str:
        """A libpq conninfo string without the password (psql reads it from the environment)."""
        return (
            f"host={self.host} port={self.port} dbname={self.database} user={self.user} "
            f"sslmode=verify-full sslrootcert={self.ca_path}"
        )

    def env(self) -> dict[str, str]:
        """The environment every child gets: the token, the CA for Node, fake AWS credentials."""
        return {
            **os.environ,
            "PGPASSWORD": self.token,
            "DATABASE_URL": self.url(),
            "NODE_EXTRA_CA_CERTS": str(self.ca_path),
            "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }


class BenchPostgres:
    """A started ``EmbeddedPostgres`` with the bench role; a context manager."""

    def __init__(self) -> None:
        self.pg = EmbeddedPostgres(host="localhost")
        self.token = ""
        self.client_port = 0  # where the tools connect: the server, or a proxy in front of it

    def __enter__(self) -> BenchPostgres:
        self.pg.start()
        self.token = self.pg.iam_token(USER, region=REGION, at=FROZEN_AT)
        self.pg.create_role(USER, self.token, superuser=True)
        self.client_port = self.pg.port
        return self

    def connect_via(self, port: int) -> None:
        """Send the tools to ``port`` (a proxy); the password becomes the token for that port.

        A token is signed for a host and port, and the engine makes its own.
        """
        self.client_port = port
        self.token = iam_token(self.pg.host, port, USER, region=REGION, at=FROZEN_AT)
        self.pg.set_password(USER, self.token)

    def __exit__(self, *exc: object) -> None:
        self.pg.stop()

    @property
    def psql(self) -> Path:
        return self.pg.psql()

    def fresh(self) -> Target:
        """A new empty database, owned by the bench role."""
        name = f"bench_{secrets.token_hex(5)}"
        self.pg.create_database(name)
        with self.pg.admin() as conn:
            conn.execute(f'ALTER DATABASE "{name}" OWNER TO {USER}')
        return Target(self.pg.host, self.client_port, name, USER, self.token, self.pg.ca_path)

    def drop(self, target: Target) -> None:
        self.pg.drop_database(target.database)

    def schema(self, target: Target) -> list[str]:
        """The user's schema as sorted lines, history tables left out."""
        with self.pg.admin(target.database) as conn:
            rows = conn.execute(
                _SCHEMA_SQL,
                {
                    "history": list(_HISTORY),
                    "skip": ["public", "information_schema", *_HISTORY_SCHEMAS],
                },
            ).fetchall()
            lines = sorted(str(r[0]) for r in rows)
            tables = [
                str(r[0])
                for r in conn.execute(
                    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                    "AND relkind = 'r' AND relname <> ALL(%s) ORDER BY relname",
                    (list(_HISTORY),),
                )
            ]
            for table in tables:
                count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                lines.append(f"rows {table} {count[0] if count else 0}")
        return lines

    def fingerprint(self, target: Target) -> tuple[str, int]:
        """sha256 of the schema lines, and how many lines there were."""
        lines = self.schema(target)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16], len(lines)
