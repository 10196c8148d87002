"""What RDS accepts as a tag, decided before any call (pure).

RDS's rules (API reference, ``Tag``): a key of 1 to 128 Unicode characters, a
value of 0 to 256; only letters, digits, white space and ``_ . : / = + - @``
(Java's ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$``); neither may start with
``aws:`` or ``rds:``; at most 50 tags on a resource. Python's ``re`` has no
``\\p{..}``, so the classes are read from ``unicodedata`` categories (``L*``,
``Z*``, ``N*``, as Java defines them).
"""

from __future__ import annotations

import unicodedata

MAX_KEY_CHARACTERS = 128
MAX_VALUE_CHARACTERS = 256
RDS_MAX_TAGS = 50
AWS_PREFIXES = ("aws:", "rds:")
ALLOWED_SYMBOLS = frozenset("_.:/=+-@")


def allowed(character: str) -> bool:
    """True for a character RDS takes in a tag key or value."""
    return character in ALLOWED_SYMBOLS or unicodedata.category(character)[0] in "LZN"


def _first_refused(text: str) -> str | None:
    return next((c for c in text if not allowed(c)), None)


def _shown(character: str) -> str:
    if character.isprintable() and not character.isspace():
        return repr(character)
    return f"U+{ord(character):04X}"


def _content_problem(text: str) -> str | None:
    refused = _first_refused(text)
    if refused is not None:
        return (
            f"holds {_shown(refused)}; RDS takes only letters, digits, spaces and _ . : / = + - @"
        )
    if text.lower().startswith(AWS_PREFIXES):
        return f"starts with {text[:4]!r}, which RDS reserves for AWS"
    return None


def problem(key: str, value: str, reserved: tuple[str, ...] = ()) -> str | None:
    """Why RDS (or the provider, for ``reserved`` key prefixes) refuses this tag, or None.

    The reason names the key and has no final period (the caller ends the sentence).
    """
    shown = repr(key if len(key) <= 40 else key[:37] + "...")
    if not key:
        return "a tag key is empty; give it 1 to 128 characters"
    if len(key) > MAX_KEY_CHARACTERS:
        return f"tag key {shown} has {len(key)} characters; RDS takes at most 128"
    if len(value) > MAX_VALUE_CHARACTERS:
        return f"the value of tag {shown} has {len(value)} characters; RDS takes at most 256"
    for where, text in (("tag key", key), ("the value of tag", value)):
        why = _content_problem(text)
        if why:
            return f"{where} {shown} {why}"
    lowered = key.lower()
    for prefix in reserved:
        if lowered.startswith(prefix):
            return f"tag key {shown} is reserved: the provider writes {prefix} tags itself"
    return None
