"""How the demo shows what happens: requests, responses, progress, tables, timings.

Requests and responses are rendered as indented ``key  value`` lines, which
read faster than JSON. The ``ResponseURL`` (a presigned URL: whoever holds it
can answer for the stack) is never printed. Progress is a line per change of
state, plus, on a terminal, a ticking clock on the current line.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

REDACTED_URL = "<presigned S3 URL: not shown>"
_INDENT = "    "


class Printer:
    """Writes the demo's output to ``stream``; colors only on a terminal without NO_COLOR."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.color = self.tty and not os.environ.get("NO_COLOR")
        self._lock = threading.Lock()

    def style(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self.style(text, "1")

    def dim(self, text: str) -> str:
        return self.style(text, "2")

    def status(self, status: str) -> str:
        return self.style(status, "32;1" if status == "SUCCESS" else "31;1")

    def line(self, text: str = "") -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def overwrite(self, text: str) -> None:
        """Replace the current terminal line (progress clocks); nothing off a terminal."""
        if self.tty:
            with self._lock:
                self.stream.write("\r\033[K" + text)
                self.stream.flush()

    def clear_line(self) -> None:
        self.overwrite("")

    # -- blocks ---------------------------------------------------------------

    def heading(self, number: int, total: int, title: str) -> None:
        label = f" {number}/{total}  {title} "
        self.line()
        self.line(self.bold(f"──{label}" + "─" * max(0, 76 - len(label))))

    def request(self, event: dict[str, Any], target: str) -> None:
        self.line(self.bold(f"→ CloudFormation invokes {target} with"))
        for text in render(redact_event(event), depth=1):
            self.line(text)

    def response(self, body: dict[str, Any], seconds: float) -> None:
        status = str(body.get("Status", "?"))
        self.line(
            self.bold("← response ") + self.status(status) + self.dim(f"  after {seconds:.1f} s")
        )
        shown = {k: v for k, v in body.items() if k not in ("Status", "StackId", "RequestId")}
        if not shown.get("Reason"):
            shown.pop("Reason", None)
        if not shown.get("NoEcho"):
            shown.pop("NoEcho", None)
        for text in render(shown, depth=1):
            self.line(text)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [
            [str(c) for c in columns],
            *[["" if v is None else str(v) for v in r] for r in rows],
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]

        def fmt(row: Sequence[str]) -> str:
            return _INDENT + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))

        self.line(self.bold(fmt(cells[0]).rstrip()))
        self.line(_INDENT + "  ".join("─" * w for w in widths))
        for row in cells[1:]:
            self.line(fmt(row).rstrip())


def redact_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as it may be shown: the ResponseURL replaced."""
    return {k: (REDACTED_URL if k == "ResponseURL" else v) for k, v in event.items()}


def render(value: Any, depth: int = 0) -> Iterator[str]:
    """``value`` as indented lines: mappings as aligned ``key  value``, lists as ``- item``."""
    pad = _INDENT * depth
    if isinstance(value, dict):
        scalars = [k for k, v in value.items() if not isinstance(v, dict | list) or not v]
        width = max((len(str(k)) for k in scalars), default=0)
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                yield f"{pad}{key}"
                yield from render(item, depth + 1)
            else:
                yield f"{pad}{str(key).ljust(width)}  {_scalar(item)}"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                # "- " then the mapping, its later lines aligned under its first key.
                for n, line in enumerate(render(item, depth)):
                    yield f"{pad}{'- ' if n == 0 else '  '}{line[len(pad) :]}"
            else:
                yield f"{pad}- {_scalar(item)}"
    else:
        yield f"{pad}{_scalar(value)}"


def _scalar(value: Any) -> str:
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, str):
        text = " ".join(value.split("\n"))
        return text if len(text) <= 160 else text[:157] + "..."
    return repr(value) if value is None else str(value)


@contextmanager
def progress(
    printer: Printer, observe: Callable[[], str | None], *, every: float = 0.25
) -> Iterator[None]:
    """While the block runs, print each new value of ``observe()`` with the time since start.

    ``observe`` is called from a background thread (its errors are shown, not
    raised); on a terminal a clock ticks on the current line in between.
    """
    started = time.monotonic()
    stop = threading.Event()
    spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def watch() -> None:
        last: str | None = None
        tick = 0
        while not stop.is_set():
            try:
                now = observe()
            except Exception as exc:  # a failed look is progress info, not the demo's error
                now = f"(could not look: {type(exc).__name__})"
            elapsed = time.monotonic() - started
            if now and now != last:
                printer.clear_line()
                printer.line(printer.dim(f"  {elapsed:5.1f} s  ") + now)
                last = now
            printer.overwrite(printer.dim(f"  {spinner[tick % len(spinner)]} {elapsed:5.1f} s"))
            tick += 1
            stop.wait(every)

    thread = threading.Thread(target=watch, name="demo-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        printer.clear_line()
