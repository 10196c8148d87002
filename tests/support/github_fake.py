"""GitHub's issue-comment API on loopback, replaying recorded answers (``github_api/*.json``).

The answers are shaped as GitHub's REST API (2022-11-28) gives them; a
comment created or edited gets the request's body, as the real API echoes
it, and is listed from then on. Lists are served ``page_size`` at a time
with a ``Link: <...>; rel="next"`` header, as GitHub pages long threads.
Every request is recorded (method, path, headers, JSON body) for the tests.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).resolve().parent / "github_api"
REPO, NUMBER = "octo-org/app", 42
_LIST = re.compile(rf"^/repos/{REPO}/issues/{NUMBER}/comments$")
_ONE = re.compile(rf"^/repos/{REPO}/issues/comments/(\d+)$")


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any


class FakeGitHub:
    """A context manager; ``url`` is its API root, ``comments`` the thread as it stands."""

    def __init__(self, comments: list[dict[str, Any]] | None = None, *, page_size: int = 2) -> None:
        self.comments = copy.deepcopy(comments if comments is not None else self.thread())
        self.page_size = page_size
        self.requests: list[Seen] = []
        self.forbid_writes = False
        self._next_id = 3001
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @staticmethod
    def thread() -> list[dict[str, Any]]:
        """The recorded pull-request thread: three comments, none of them the action's."""
        return [*recorded("comments-page-1.json"), *recorded("comments-page-2.json")]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def writes(self) -> list[Seen]:
        return [r for r in self.requests if r.method != "GET"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> tuple[str, dict[str, list[str]], Any]:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(Seen(self.command, parts.path, headers, body))
                return parts.path, parse_qs(parts.query), body

            def do_GET(self) -> None:
                path, query, _ = self._record()
                if not _LIST.match(path):
                    return self._answer(404, {"message": "Not Found"})
                page = int(query.get("page", ["1"])[0])
                start = (page - 1) * fake.page_size
                shown = fake.comments[start : start + fake.page_size]
                headers = {}
                if start + fake.page_size < len(fake.comments):
                    link = f"{fake.url}{path}?per_page=100&page={page + 1}"
                    headers["Link"] = f'<{link}>; rel="next"'
                return self._answer(200, shown, headers)

            def do_POST(self) -> None:
                path, _, body = self._record()
                if not _LIST.match(path):
                    return self._answer(404, {"message": "Not Found"})
                if fake.forbid_writes:
                    return self._answer(403, recorded("forbidden.json"))
                made = recorded("created.json")
                made["id"] = fake._next_id
                made["html_url"] = (
                    f"https://github.com/{REPO}/pull/{NUMBER}#issuecomment-{made['id']}"
                )
                made["body"] = body["body"]
                fake._next_id += 1
                fake.comments.append(made)
                return self._answer(201, made)

            def do_PATCH(self) -> None:
                path, _, body = self._record()
                found = _ONE.match(path)
                comment = next(
                    (c for c in fake.comments if found and c["id"] == int(found.group(1))), None
                )
                if comment is None:
                    return self._answer(404, {"message": "Not Found"})
                comment["body"] = body["body"]
                comment["updated_at"] = "2026-12-01T09:00:00Z"
                return self._answer(200, comment)

        return Handler
