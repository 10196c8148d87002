"""Secrets out of text: SigV4 signatures and credentials, ResponseURLs, passwords.

Apart from ``logging`` (which applies it to every record) so that the CLI can
redact what it prints without importing Powertools.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Presigned URLs (the ResponseURL) and RDS auth tokens are SigV4 query strings.
    (re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token))=[^&\s\"'\\]+", re.I), r"\1=***"),
    # The same, percent-encoded (a token inside a URL's password): up to an encoded '&'.
    (
        re.compile(
            r"(X-Amz-(?:Signature|Credential|Security-Token))%3D"
            r"(?:%(?!26)[0-9a-f]{2}|[^&%@\s\"'\\])+",
            re.I,
        ),
        r"\1%3D***",
    ),
    # A URL's password: postgresql://user:secret@host (libpq echoes a malformed DSN).
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']*):[^@/\s\"']+@", re.I), r"\1:***@"),
    # Whatever the scheme or its escaping (http, https, https:\/\/ in JSON): the host names it.
    (
        re.compile(r"(?:https?:(?:\\?/){2})?cloudformation-custom-resource-response-[^\s\"'\\]+"),
        "<ResponseURL>",
    ),
    # A backslash may be part of a password, but not the one escaping a closing quote.
    (
        re.compile(r"(password|passwd|pwd)(\s*[=:]\s*)(?:\\[^\s\"']|[^\s&\"'\\,;])+", re.I),
        r"\1\2***",
    ),
)


def redact(text: str) -> str:
    """``text`` with every SigV4 secret, ResponseURL and password replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
