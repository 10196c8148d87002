"""Structured logs (Powertools Logger, JSON) with secrets scrubbed before they are written.

Every handler attached here, and the root logger's (where crhelper and
botocore write), gets ``RedactSecrets``: a SigV4 signature or credential, an
auth token, a presigned ResponseURL or a password never reaches a log line,
whichever module wrote it.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from aws_lambda_powertools import Logger

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Presigned URLs (the ResponseURL) and RDS auth tokens are SigV4 query strings.
    (re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token))=[^&\s\"'\\]+", re.I), r"\1=***"),
    (re.compile(r"https://cloudformation-custom-resource-response-[^\s\"'\\]+"), "<ResponseURL>"),
    (re.compile(r"(password|passwd|pwd)(\s*[=:]\s*)[^\s&\"'\\,;]+", re.I), r"\1\2***"),
)


def redact(text: str) -> str:
    """``text`` with every SigV4 secret, ResponseURL and password replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still logged, as its bare msg
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info:
            # Formatters would render the live exception again, unredacted; hand
            # them the scrubbed text instead (Powertools shows extra keys as-is).
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exception = record.exc_text
            record.exception_name = getattr(record.exc_info[0], "__name__", "Exception")
            record.exc_info = None
        return True


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))


def _protect_root() -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


def get_logger(service: str, **keys: Any) -> Logger:
    """A JSON Logger for ``service`` whose records, and the root logger's, are redacted."""
    logger = Logger(service=service, level=os.getenv("LOG_LEVEL", "INFO"), **keys)
    logger.addFilter(RedactSecrets())
    for handler in logger.handlers:
        handler.addFilter(RedactSecrets())
    _protect_root()
    return logger
