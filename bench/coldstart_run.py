"""A Lambda cold start, as a fresh interpreter sees it: import the handler, handle one event.

``python -m bench.coldstart_run MODULE EVENT_FILE`` imports ``MODULE`` and
calls its ``handler`` with the JSON event in ``EVENT_FILE`` and a minimal
context. Nothing else is imported here, so the process's wall time is the
handler's cold start (plus the interpreter's own start, measured apart).
"""

from __future__ import annotations

import importlib
import json
import sys
import time


class Context:
    """The parts of the Lambda context the handlers read."""

    function_name = "aurora-express-bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:aurora-express-bench"
    function_version = "$LATEST"
    log_group_name = "/aws/lambda/aurora-express-bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self._end = time.monotonic() + 900

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def main(argv: list[str]) -> int:
    module = importlib.import_module(argv[0])
    with open(argv[1]) as fh:
        event = json.load(fh)
    module.handler(event, Context())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
