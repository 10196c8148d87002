"""The provider's one root exception.

Only ``boundary`` turns an exception into a ``FAILED`` response: a
``ProviderError`` becomes its ``reason``; anything else becomes a generic
reason and a logged traceback.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A failure with a reason a person can act on.

    ``reason`` is one short sentence (it is what CloudFormation shows).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidProperty(ProviderError):
    """A property that fails validation; raised before any AWS call."""

    def __init__(self, prop: str, problem: str) -> None:
        super().__init__(f"Property {prop}: {problem}")
        self.prop = prop
        self.problem = problem
