"""Structured logs (Powertools Logger, JSON) with secrets scrubbed before they are written.

Library modules log with ``logging.getLogger(__name__)`` and know nothing of
Powertools; a Lambda handler module calls ``function_logger`` once, which
gives every ``provider.*`` logger the function's JSON handler (with the
request's keys). Without it (the CLI, a test), ``provider.*`` records reach
whatever the caller configured, by their own names.

Every record is scrubbed as it is made (``install_redaction``): a SigV4
signature or credential, an auth token, a presigned ResponseURL or a
password never reaches a log line, whichever module wrote it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from provider.common.redaction import redact
from provider.common.settings import LOG_LEVELS

PACKAGE = "provider"
__all__ = ["function_logger", "install_redaction", "redact"]


def _scrub(record: logging.LogRecord) -> logging.LogRecord:
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
    return record


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))


def install_redaction() -> None:
    """Scrub every log record as it is made, whichever logger or handler sees it.

    A record factory, not a handler filter: crhelper and botocore log through
    the root logger, whose handlers (the Lambda runtime's, a test runner's)
    come and go, while the factory sees each record once, before any of them.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _scrub(current(*args, **kwargs))

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def function_logger(service: str) -> Logger:
    """The Lambda function's JSON logger, also writing every ``provider.*`` record.

    For handler modules only. In one process that imports several handlers
    (tests, the demo) the last one's handler writes ``provider.*`` records.
    """
    install_redaction()
    # A bad LOG_LEVEL fails each request, naming it (the function's settings); the
    # logger that reports it must still start.
    level = os.getenv("LOG_LEVEL", "").upper()
    logger = Logger(service=service, level=level if level in LOG_LEVELS else "INFO")
    logger.registered_handler.addFilter(_ScrubExtras())
    logging.getLogger(PACKAGE)  # registered, so that Powertools finds it
    copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE})
    return logger


class _ScrubExtras(logging.Filter):
    """Scrubs ``extra=`` keys, which logging sets only after the record factory ran."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True
