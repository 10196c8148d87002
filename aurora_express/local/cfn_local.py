"""CloudFormation's side of a custom resource request, on loopback.

``ResponseCollector`` plays the presigned ResponseURL: an HTTP server that
records every PUT body. ``request_event`` builds the event CloudFormation
sends (every scalar property a string, as CloudFormation delivers them), and
``LambdaContext`` stands in for the runtime's context with a real clock.
Used by the tests, the demo and the benchmarks alike; never deployed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from aurora_express.cfn_values import stringify

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Credentials moto accepts and no real account does: every offline run sets these.
OFFLINE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Loopback stands in for AWS's endpoints: the ResponseCollector for CloudFormation's
    # response bucket, the embedded PostgreSQL for a cluster's endpoint.
    "AURORA_EXPRESS_OFFLINE": "true",
}
# Shaped like a real presigned URL, so leaks of it are caught by the secret scan.
_FAKE_SIGNATURE = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFAKE%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0f0e0d0c0b0a09080706050403020100"  # noqa: E501


@dataclass
class Response:
    """One PUT received on a ResponseURL."""

    path: str
    body: dict[str, Any]
    received_at: float


class ResponseCollector:
    """An HTTP server on 127.0.0.1 that records the responses PUT to it.

    ``every_body`` keeps each body any collector received in this process, so
    the test suite's secret scan can read all responses at its end.
    """

    every_body: ClassVar[list[dict[str, Any]]] = []

    def __init__(self) -> None:
        self._responses: dict[str, list[Response]] = {}
        self._cond = threading.Condition()
        collector = self

        class _Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                key = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_unparseable": raw.decode(errors="replace")}
                ResponseCollector.every_body.append(body)
                with collector._cond:
                    collector._responses.setdefault(key, []).append(
                        Response(self.path, body, time.monotonic())
                    )
                    collector._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the URL carries a (fake) signature: keep it out of output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ResponseCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, key: str) -> str:
        """A ResponseURL whose responses are filed under ``key``."""
        return f"http://127.0.0.1:{self.port}/responses/{key}?{_FAKE_SIGNATURE}"

    def responses(self, key: str) -> list[Response]:
        with self._cond:
            return list(self._responses.get(key, []))

    def wait(self, key: str, timeout: float) -> Response | None:
        """The first response filed under ``key``, waiting up to ``timeout`` seconds."""
        end = time.monotonic() + timeout
        with self._cond:
            while not self._responses.get(key):
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._responses[key][0]


def stack_id(stack_name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{uuid.uuid4()}"


def request_event(
    request_type: str,
    resource_type: str,
    properties: dict[str, Any],
    *,
    response_url: str,
    service_token: str,
    stack: str,
    logical_id: str,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A custom resource request as CloudFormation sends it (``stack`` is a stack id)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": stringify({"ServiceToken": service_token, **properties}),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = stringify(
            {"ServiceToken": service_token, **old_properties}
        )
    return event


@dataclass
class LambdaContext:
    """The parts of the Lambda runtime's context that handlers use, on a real clock."""

    function_name: str = "aurora-express-ClusterProviderFunction"
    timeout_seconds: float = 900.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self.started)
        return max(0, int(left * 1000))
