"""The schema diff as one pull-request comment, kept current: what the schema-diff action runs.

One comment per pull request, found again by the hidden marker its body
starts with, and updated in place on every push. The body carries a digest
of the diff: when a push leaves the diff as it was, nothing is written (no
new comment, no edit, no notification). An empty diff gets a comment that
says so, and a comment from an earlier push that showed differences is
updated to say so too.

    python -m aurora_express.pr_comment --diff schema.diff \\
        --from-label "main" --to-label "this branch" --pr 42

The token comes from ``GITHUB_TOKEN`` (never the command line); the
repository and API from ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL``, as
Actions sets them; the pull request from ``--pr`` or the event payload
(``GITHUB_EVENT_PATH``). ``action``, ``comment-id`` and ``comment-url`` go
to ``GITHUB_OUTPUT`` when it is set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "<!-- aurora-express:schema-diff -->"
_DIGEST = re.compile(r"<!-- aurora-express:schema-diff digest=([0-9a-f]{64}) -->")
# GitHub refuses comment bodies over 65,536 characters; leave room for the frame.
MAX_DIFF_CHARS = 60_000
API_VERSION = "2022-11-28"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(RuntimeError):
    """A GitHub API call that failed: the method, path, status and GitHub's message."""


def digest(diff_text: str, from_label: str, to_label: str) -> str:
    """What decides whether the comment must change: the diff and what it compares."""
    payload = json.dumps([from_label, to_label, diff_text])
    return hashlib.sha256(payload.encode()).hexdigest()


def render(diff_text: str, from_label: str, to_label: str) -> str:
    """The comment's body: the marker, the digest, a title and the diff (or "no difference")."""
    lines = [
        MARKER,
        f"<!-- aurora-express:schema-diff digest={digest(diff_text, from_label, to_label)} -->",
        f"### Schema diff: `{to_label}` against `{from_label}`",
        "",
    ]
    if not diff_text.strip():
        lines.append("No schema changes: both databases have the same schema.")
    else:
        shown = diff_text
        note = ""
        if len(shown) > MAX_DIFF_CHARS:
            cut = shown.rfind("\n", 0, MAX_DIFF_CHARS)
            shown = shown[: cut if cut > 0 else MAX_DIFF_CHARS] + "\n"
            note = (
                f"\n_The diff is {len(diff_text):,} characters; the first "
                f"{len(shown):,} are shown. Run `aurora-express diff` for all of it._"
            )
        fence = "````" if "```" in shown else "```"
        lines += [f"{fence}diff", shown.rstrip("\n"), fence + note]
    lines += ["", "<sub>Posted by aurora-express schema-diff; updated on every push.</sub>"]
    return "\n".join(lines) + "\n"


def digest_in(body: str) -> str | None:
    found = _DIGEST.search(body)
    return found.group(1) if found else None


@dataclass(frozen=True)
class Decision:
    action: str  # create, update, none
    comment_id: int | None = None
    url: str = ""


def decide(comments: Sequence[dict[str, Any]], body: str) -> Decision:
    """Create when no comment carries the marker; update it when its digest differs."""
    ours = [c for c in comments if str(c.get("body") or "").startswith(MARKER)]
    if not ours:
        return Decision("create")
    current = ours[0]  # the oldest: comments are listed by ascending id
    comment_id = int(current["id"])
    url = str(current.get("html_url") or "")
    if digest_in(str(current.get("body") or "")) == digest_in(body):
        return Decision("none", comment_id, url)
    return Decision("update", comment_id, url)


class GitHub:
    """The three calls the action makes, on GitHub's REST API (``urllib``, no dependency)."""

    def __init__(self, api_url: str, repository: str, token: str, *, timeout: float = 30) -> None:
        self._api = api_url.rstrip("/")
        self._repo = repository
        self._token = token
        self._timeout = timeout

    def _request(
        self, method: str, url: str, payload: dict[str, Any] | None = None
    ) -> tuple[Any, str | None]:
        """The decoded answer and the next page's URL (from the ``Link`` header), if any."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (https API)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        request.add_header("User-Agent", "aurora-express-schema-diff")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        path = url.removeprefix(self._api)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                text = response.read().decode()
                next_page = _next_link(response.headers.get("Link") or "")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read().decode()).get("message", "")
            except (ValueError, AttributeError):
                message = ""
            raise GitHubError(f"{method} {path}: HTTP {exc.code} {message}".rstrip()) from exc
        except urllib.error.URLError as exc:
            raise GitHubError(f"{method} {path}: {exc.reason}") from exc
        return (json.loads(text) if text else None), next_page

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Every comment of the pull request (its conversation), page by page."""
        found: list[dict[str, Any]] = []
        url: str | None = f"{self._api}/repos/{self._repo}/issues/{number}/comments?per_page=100"
        while url:
            page, url = self._request("GET", url)
            found += page
        return found

    def create(self, number: int, body: str) -> dict[str, Any]:
        url = f"{self._api}/repos/{self._repo}/issues/{number}/comments"
        return dict(self._request("POST", url, {"body": body})[0])

    def update(self, comment_id: int, body: str) -> dict[str, Any]:
        url = f"{self._api}/repos/{self._repo}/issues/comments/{comment_id}"
        return dict(self._request("PATCH", url, {"body": body})[0])


def _next_link(header: str) -> str | None:
    found = _NEXT.search(header)
    return found.group(1) if found else None


def post_or_update(
    github: GitHub, number: int, diff_text: str, from_label: str, to_label: str
) -> Decision:
    """Make the pull request's schema-diff comment say ``diff_text``; what was done."""
    body = render(diff_text, from_label, to_label)
    decision = decide(github.comments(number), body)
    if decision.action == "create":
        made = github.create(number, body)
        return Decision("create", int(made["id"]), str(made.get("html_url") or ""))
    if decision.action == "update" and decision.comment_id is not None:
        made = github.update(decision.comment_id, body)
        return Decision("update", decision.comment_id, str(made.get("html_url") or decision.url))
    return decision


def pull_request_number(event_path: str | None) -> int | None:
    """The pull request's number from the event payload Actions wrote, if it is one."""
    if not event_path or not Path(event_path).is_file():
        return None
    event = json.loads(Path(event_path).read_text())
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return int(number) if number else None


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(
        prog="python -m aurora_express.pr_comment", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--diff", required=True, metavar="FILE", help="the diff text ('-': stdin)")
    parser.add_argument("--from-label", required=True, help="what the diff compares from (base)")
    parser.add_argument("--to-label", required=True, help="what it compares to (this branch)")
    parser.add_argument("--pr", type=int, help="pull request number (default: the event's)")
    args = parser.parse_args(argv)
    token = env.get("GITHUB_TOKEN", "")
    repository = env.get("GITHUB_REPOSITORY", "")
    number = args.pr or pull_request_number(env.get("GITHUB_EVENT_PATH"))
    problems = [
        what
        for what, missing in (
            ("GITHUB_TOKEN is not set", not token),
            ("GITHUB_REPOSITORY is not set", not repository),
            ("no pull request: pass --pr or run on a pull_request event", not number),
        )
        if missing
    ]
    if problems:
        print(f"schema-diff: {'; '.join(problems)}", file=sys.stderr)
        return 2
    assert number is not None
    diff_text = sys.stdin.read() if args.diff == "-" else Path(args.diff).read_text()
    github = GitHub(env.get("GITHUB_API_URL") or "https://api.github.com", repository, token)
    try:
        done = post_or_update(github, number, diff_text, args.from_label, args.to_label)
    except GitHubError as exc:
        print(f"schema-diff: {exc}", file=sys.stderr)
        return 1
    said = {"create": "created", "update": "updated", "none": "unchanged"}[done.action]
    print(f"schema-diff: comment {said} {done.url}".rstrip())
    output = env.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a") as out:
            out.write(f"action={done.action}\ncomment-id={done.comment_id or ''}\n")
            out.write(f"comment-url={done.url}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
