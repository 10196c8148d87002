"""The schema-diff comment: one per pull request, found by its marker, written only on change.

Against ``FakeGitHub``: GitHub's comment API on loopback, replaying recorded answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aurora_express import pr_comment
from aurora_express.pr_comment import MARKER, GitHub, post_or_update
from tests.support.github_fake import NUMBER, REPO, FakeGitHub

TOKEN = "ghs_" + "fakeTokenForTheTests0123456789"
DIFF = "--- base\n+++ head\n@@ -1,2 +1,3 @@\n table public.items\n+  column price numeric\n"
OTHER_DIFF = DIFF.replace("price numeric", "price bigint")


@pytest.fixture
def github() -> Any:
    with FakeGitHub() as fake:
        yield fake


def _post(fake: FakeGitHub, diff: str = DIFF) -> pr_comment.Decision:
    return post_or_update(GitHub(fake.url, REPO, TOKEN), NUMBER, diff, "main", "this branch")


def _ours(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in fake.comments if c["body"].startswith(MARKER)]


def test_the_first_push_creates_one_comment_with_the_diff(github: FakeGitHub) -> None:
    done = _post(github)
    assert done.action == "create"
    [comment] = _ours(github)
    assert done.comment_id == comment["id"]
    assert done.url == comment["html_url"]
    assert "```diff\n" + DIFF.rstrip("\n") + "\n```" in comment["body"]
    assert "`this branch` against `main`" in comment["body"]
    [write] = github.writes()
    assert (write.method, write.path) == ("POST", f"/repos/{REPO}/issues/{NUMBER}/comments")


def test_a_push_with_the_same_diff_writes_nothing(github: FakeGitHub) -> None:
    _post(github)
    before = len(github.writes())
    done = _post(github)
    assert done.action == "none"
    assert len(github.writes()) == before
    assert len(_ours(github)) == 1


def test_a_push_with_another_diff_updates_the_same_comment_in_place(github: FakeGitHub) -> None:
    first = _post(github)
    done = _post(github, OTHER_DIFF)
    assert (done.action, done.comment_id) == ("update", first.comment_id)
    [comment] = _ours(github)
    assert "price bigint" in comment["body"] and "price numeric" not in comment["body"]
    assert github.writes()[-1].method == "PATCH"
    assert github.writes()[-1].path == f"/repos/{REPO}/issues/comments/{first.comment_id}"


def test_an_empty_diff_says_there_is_no_schema_change(github: FakeGitHub) -> None:
    _post(github)
    done = _post(github, "")
    assert done.action == "update"
    [comment] = _ours(github)
    assert "No schema changes" in comment["body"]
    assert "```" not in comment["body"]


def test_the_comment_is_found_on_a_later_page(github: FakeGitHub) -> None:
    github.page_size = 1
    _post(github)  # the fourth comment of the thread: page 4
    pages = [r for r in github.requests if r.method == "GET"]
    assert len(pages) == 3
    assert _post(github, OTHER_DIFF).action == "update"
    assert len(_ours(github)) == 1


def test_a_comment_merely_quoting_the_marker_is_not_taken_for_ours(github: FakeGitHub) -> None:
    assert any(MARKER in c["body"] for c in github.comments)  # the recorded thread quotes it
    assert _post(github).action == "create"


def test_the_token_goes_in_the_authorization_header_only(github: FakeGitHub) -> None:
    _post(github)
    for request in github.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert TOKEN not in request.path
        assert TOKEN not in json.dumps(request.body)


def test_a_refused_write_is_exit_1_with_githubs_reason(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github.forbid_writes = True
    diff = tmp_path / "schema.diff"
    diff.write_text(DIFF)
    code = pr_comment.main(
        ["--diff", str(diff), "--from-label", "main", "--to-label", "pr", "--pr", str(NUMBER)],
        {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": github.url},
    )
    captured = capsys.readouterr()
    assert code == 1
    assert (
        f"POST /repos/{REPO}/issues/{NUMBER}/comments: HTTP 403 Resource not accessible by "
        "integration"
    ) in captured.err
    assert TOKEN not in captured.out + captured.err


def test_main_reads_the_pull_request_from_the_event_and_writes_outputs(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event, output, diff = tmp_path / "event.json", tmp_path / "output", tmp_path / "d"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": NUMBER}}))
    diff.write_text(DIFF)
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.url,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(output),
    }
    args = ["--diff", str(diff), "--from-label", "main", "--to-label", "pr"]
    assert pr_comment.main(args, env) == 0
    comment_id = _ours(github)[0]["id"]
    assert f"action=create\ncomment-id={comment_id}\n" in output.read_text()
    assert "schema-diff: comment created https://github.com/" in capsys.readouterr().out


def test_main_without_a_token_or_pull_request_says_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = pr_comment.main(["--diff", "-", "--from-label", "a", "--to-label", "b"], {})
    assert code == 2
    err = capsys.readouterr().err
    assert "GITHUB_TOKEN is not set" in err and "no pull request" in err


def test_a_diff_too_long_for_a_comment_is_cut_at_a_line_and_says_so() -> None:
    long = "".join(f"+  column c{i} integer\n" for i in range(10000))
    body = pr_comment.render(long, "a", "b")
    assert len(body) < 65536
    assert "The diff is " in body and "Run `aurora-express diff` for all of it" in body
    fenced = body.split("```diff\n", 1)[1].split("\n```", 1)[0]
    assert all(line.startswith("+  column c") for line in fenced.splitlines())


def test_the_digest_depends_on_the_diff_and_its_labels() -> None:
    assert pr_comment.digest(DIFF, "a", "b") == pr_comment.digest(DIFF, "a", "b")
    assert pr_comment.digest(DIFF, "a", "b") != pr_comment.digest(DIFF, "a", "c")
    assert pr_comment.digest_in(pr_comment.render(DIFF, "a", "b")) == pr_comment.digest(
        DIFF, "a", "b"
    )
