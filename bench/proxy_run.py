"""The proxy as its own process for the bench: ``python -m bench.proxy_run HOST PORT CA``.

The same pieces ``aurora-express proxy`` runs (``server.Proxy``, the CLI's
token maker, verify-full TLS), in front of the bench's embedded PostgreSQL,
with the clock frozen at ``FROZEN_AT`` so the tokens it signs are the role's
password. Prints the port it listens on, then serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import time_machine

from aurora_express.cli.proxy import token_maker
from aurora_express.local.embedded_pg import FROZEN_AT
from aurora_express.proxy import server, upstream
from provider.migrations.connect import Target


async def _serve(host: str, port: int, rootcert: str, user: str) -> None:
    target = Target(host, port, user, "postgres", "us-east-1")
    settings = server.Settings(
        upstream=upstream.Upstream(host, port, user), port=0, max_connections=500
    )
    proxy = server.Proxy(settings, upstream.tls_context(rootcert), token_maker(target))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await proxy.start()
    print(proxy.port, flush=True)
    await stop.wait()
    await proxy.close()


def main() -> None:
    logging.getLogger("aurora_express.proxy").setLevel(logging.WARNING)
    host, port, rootcert, user = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with time_machine.travel(FROZEN_AT, tick=False):
        asyncio.run(_serve(host, port, rootcert, user))


if __name__ == "__main__":
    main()
