"""A Lambda function's settings: read from its environment once, checked, frozen.

Each function declares everything it reads from its environment in one
place, ``provider/<function>/settings.py``: a frozen dataclass and its
``from_env(environ)``, built with the parsers below. The variable names are
the ones template.yaml, the README and the CLI already document
(``MAX_CLUSTERS``, ``REAPER_ARMED``, ``DB_SSLMODE``, ``AURORA_EXPRESS_*_SECONDS``,
...); each is read by exactly one settings class.

- Unset or empty means the default.
- A value that does not parse raises ``SettingsError`` naming the variable,
  what it takes and what it holds: never a silent fallback to the default.

``Cached`` holds a function's settings. It reads them when the module is
imported (the cold start) and keeps them while the variables they read are
unchanged, which in a Lambda is for the life of the process; a process that
changes its own environment (the tests, the demo) gets them read afresh. A
parse error does not fail the import: ``get()`` raises it inside the
request, so the handler answers FAILED with a reason naming the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from provider.common.errors import ProviderError

Environ = Mapping[str, str]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ProviderError):
    """A variable of the function's environment that does not parse; ``name`` is the variable."""

    def __init__(self, name: str, expected: str, value: str) -> None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        super().__init__(
            f"The provider's environment variable {name} must be {expected}, not {shown!r}."
        )
        self.name = name
        self.expected = expected
        self.value = value


def _raw(env: Environ, name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def text(env: Environ, name: str, default: str) -> str:
    return _raw(env, name) or default


def optional_text(env: Environ, name: str) -> str | None:
    return _raw(env, name)


def integer(
    env: Environ, name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"an integer {bounds}", raw) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingsError(name, f"an integer {bounds}", raw)
    return value


def seconds(env: Environ, name: str, default: float) -> float:
    """A positive, finite number of seconds (``0.5``, ``30``)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(name, "a positive number of seconds", raw)
    return value


def boolean(env: Environ, name: str, default: bool) -> bool:
    """``true`` or ``false``, in any case (what a template's ``AllowedValues`` pass on)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise SettingsError(name, "true or false", raw)
    return raw.lower() == "true"


def choice(env: Environ, name: str, default: str, choices: Sequence[str]) -> str:
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw not in choices:
        raise SettingsError(name, "one of " + ", ".join(choices), raw)
    return raw


def log_level(env: Environ) -> str:
    """``LOG_LEVEL``, upper-cased as Powertools reads it; ``INFO`` by default."""
    raw = _raw(env, "LOG_LEVEL")
    if raw is None:
        return "INFO"
    if raw.upper() not in LOG_LEVELS:
        raise SettingsError("LOG_LEVEL", "one of " + ", ".join(LOG_LEVELS), raw)
    return raw.upper()


@dataclass(frozen=True)
class AwsEnvironment:
    """Where the SDK sends calls (``AWS_ENDPOINT_URL``: moto's server, the demo) and its region.

    boto3 reads both itself; the provider reads them only to know when a
    client it keeps was made for another endpoint or region.
    """

    endpoint_url: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, env: Environ) -> AwsEnvironment:
        return cls(optional_text(env, "AWS_ENDPOINT_URL"), optional_text(env, "AWS_REGION"))


class _Recorder(Mapping[str, str]):
    """The environment, noting every variable looked up (so ``Cached`` knows what to watch)."""

    def __init__(self, env: Environ) -> None:
        self._env = env
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self._env[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


@dataclass(frozen=True)
class _State[S]:
    seen: tuple[tuple[str, str | None], ...]
    value: S | None
    error: SettingsError | None


class Cached[S]:
    """Settings read by ``read`` from the process environment, at once and again on change only.

    One state object, swapped whole, so threads sharing it never see a
    value from one reading with the variables of another.
    """

    def __init__(self, read: Callable[[Environ], S], environ: Environ | None = None) -> None:
        self._read = read
        self._environ: Environ = os.environ if environ is None else environ
        self._state = self._load()

    def _load(self) -> _State[S]:
        recorder = _Recorder(self._environ)
        value: S | None = None
        error: SettingsError | None = None
        try:
            value = self._read(recorder)
        except SettingsError as exc:
            error = exc
        seen = tuple((name, self._environ.get(name)) for name in sorted(recorder.names))
        return _State(seen, value, error)

    def get(self) -> S:
        """The settings; ``SettingsError`` when a variable does not parse."""
        state = self._state
        if any(self._environ.get(name) != value for name, value in state.seen):
            state = self._state = self._load()
        if state.error is not None:
            raise state.error.with_traceback(None)
        return cast(S, state.value)
