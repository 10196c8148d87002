"""``aurora-express`` with the clock frozen at ``FROZEN_AT``: its tokens are the roles' passwords.

Asyncio's timers run on the monotonic clock, which time-machine leaves alone.
"""

from __future__ import annotations

import sys

import time_machine

from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import FROZEN_AT

if __name__ == "__main__":
    with time_machine.travel(FROZEN_AT, tick=False):
        code = main(sys.argv[1:])
    sys.exit(code)
