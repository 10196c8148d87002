"""What the proxy's tests share: the token signer they watch, the proxy in a thread, the CLI.

``ProxyThread`` runs ``aurora_express.proxy.server.Proxy`` on its own event
loop in a thread, with the real IAM signer (``TokenLog``); ``CliProcess``
runs ``aurora-express`` itself as a child process with the clock frozen at
``FROZEN_AT`` (``frozen_cli.py``), reading its stderr as it comes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import boto3

from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.proxy import server, upstream
from provider.migrations import connect
from tests.support.cli import CLUSTER
from tests.support.paths import ROOT

USER = "postgres"
REGION = "us-east-1"
FROZEN_CLI = ROOT / "tests" / "support" / "frozen_cli.py"


class TokenLog:
    """The real IAM signer, remembering every token it made (to compare, never to print)."""

    def __init__(self) -> None:
        self._sign = connect.iam_tokens(boto3.client("rds", region_name=REGION))
        self.made: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, target: upstream.Upstream) -> str:
        token = self._sign(target.host, target.port, target.user, REGION)
        with self.lock:
            self.made.append(token)
        return token


class ProxyThread:
    """A ``Proxy`` on its own event loop in a daemon thread; a context manager."""

    def __init__(
        self,
        settings: server.Settings,
        rootcert: os.PathLike[str] | str,
        tokens: Callable[[upstream.Upstream], str],
    ) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

        async def make_token() -> str:
            return await asyncio.to_thread(tokens, settings.upstream)

        self.proxy = server.Proxy(settings, upstream.tls_context(str(rootcert)), make_token)

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        self.call(self.proxy.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.proxy.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def port(self) -> int:
        return self.proxy.port

    def conninfo(self, dbname: str = "postgres", **extra: Any) -> dict[str, Any]:
        """What a client gives: loopback, no TLS, no password."""
        return {"host": "127.0.0.1", "port": self.port, "user": USER, "dbname": dbname, **extra}


class CliProcess:
    """``aurora-express`` (clock frozen at FROZEN_AT) as a child process; stderr read live."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(FROZEN_CLI), *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if line.startswith("aurora-express proxy: listening on") and not self.port:
                where = line.split("listening on ", 1)[1].split(" ", 1)[0]
                self.port = int(where.rsplit(":", 1)[1])
                self._ready.set()
        self._ready.set()

    def wait_listening(self, timeout: float = 60) -> int:
        self._ready.wait(timeout)
        if not self.port:
            raise AssertionError(f"the proxy did not start: {''.join(self.lines)}")
        return self.port

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def stop_output(self) -> str:
        """Everything it printed, once it has ended (stopped if need be)."""
        self.stop()
        return self.output

    @property
    def output(self) -> str:
        if (
            self.process.poll() is not None
            and self.process.stdout
            and not self.process.stdout.closed
        ):
            self._stdout = self.process.stdout.read()
            self.process.stdout.close()
        return "".join(self.lines) + getattr(self, "_stdout", "")


def proxy_args(pg: EmbeddedPostgres, *more: str) -> list[str]:
    return [
        "proxy",
        "--cluster",
        CLUSTER,
        "--endpoint",
        pg.host,
        "--endpoint-port",
        str(pg.port),
        "--port",
        "0",
        *more,
    ]
