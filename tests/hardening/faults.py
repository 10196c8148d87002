"""AWS faults injected into a boto3 RDS client, below the provider, through botocore's events.

``RdsFaults`` attaches to the client the handler uses (``handler.api().client``):

- ``share``: that fraction of calls (seeded, so a run is reproducible) is
  answered, before it is sent, with ``Throttling`` (400) or ``InternalFailure``
  (500), as RDS answers under load. botocore's retry policy sees them exactly
  as it would see the service's.
- ``refuse(operation, code, times)``: the next ``times`` calls of
  ``operation`` are answered with ``code`` without reaching moto.
- ``lose_response(operation, via)``: the next call of ``operation`` takes
  effect (sent through ``via``, another client on the same moto), but the
  handler's client gets a 500 instead of its answer, so botocore sends it
  again (a response lost on the way back).
- ``before(operation, action)``: run ``action`` just before the next call of
  ``operation`` is sent (something changes between describe and act).

``injected`` counts each fault by operation and code.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.awsrequest import AWSResponse

THROTTLING = (400, "Throttling", "Rate exceeded")
INTERNAL = (500, "InternalFailure", "An internal error has occurred. Please try again.")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def error_body(status: int, code: str, message: str) -> bytes:
    """An RDS (query protocol) error document."""
    kind = "Sender" if status < 500 else "Receiver"
    return (
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def error_response(url: str, status: int, code: str, message: str) -> AWSResponse:
    body = _Body(error_body(status, code, message))
    return AWSResponse(url, status, {"Content-Type": "text/xml"}, body)


@dataclass
class RdsFaults:
    share: float = 0.0
    seed: int = 0
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    _refusals: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    _lost: dict[str, Any] = field(default_factory=dict)  # operation -> client to send it
    _params: threading.local = field(default_factory=threading.local)
    _before: dict[str, list[Callable[[], None]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(init=False)
    _client: Any = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    # -- set up ------------------------------------------------------------------

    def attach(self, client: Any) -> RdsFaults:
        self._client = client
        events = client.meta.events
        events.register_first("before-send.rds", self._before_send)
        events.register("before-parameter-build.rds", self._remember_params)
        return self

    def detach(self) -> None:
        if self._client is not None:
            events = self._client.meta.events
            events.unregister("before-send.rds", self._before_send)
            events.unregister("before-parameter-build.rds", self._remember_params)
            self._client = None

    def refuse(
        self, operation: str, code: str, message: str = "refused", *, times: int = 1
    ) -> None:
        status = 500 if code == "InternalFailure" else 400
        self._refusals.setdefault(operation, []).extend([(status, code, message)] * times)

    def lose_response(self, operation: str, via: Any) -> None:
        self._lost[operation] = via

    def before(self, operation: str, action: Callable[[], None]) -> None:
        self._before.setdefault(operation, []).append(action)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    # -- botocore hooks -------------------------------------------------------------

    def _remember_params(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        self._params.last = dict(params)

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1
            actions = self._before.pop(operation, [])
            via = self._lost.pop(operation, None)
            queued = self._refusals.get(operation)
            fault = queued.pop(0) if queued else None
            if fault is None and via is None and self.share and self._random.random() < self.share:
                fault = self._random.choice((THROTTLING, INTERNAL))
            if fault is not None:
                self.injected[(operation, fault[1])] += 1
            if via is not None:
                self.injected[(operation, "lost-response")] += 1
        for action in actions:
            action()
        if via is not None:
            getattr(via, xform_name(operation))(**self._params.last)  # it takes effect...
            answer = error_response(request.url, *INTERNAL)  # ...but its answer is lost
            request.url = "http://refused.invalid/"
            return answer
        if fault is None:
            return None
        answer = error_response(request.url, *fault)
        # moto's in-process stub answers before-send too (every handler runs): send the
        # request nowhere it knows, so a refused call has no effect, as with the service.
        request.url = "http://refused.invalid/"
        return answer
