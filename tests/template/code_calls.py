"""Which AWS API calls the code makes, read from its source.

The services are those a ``boto3.client("...")`` or ``_LazyClient("...")`` in
the code names; a call is any method call, or string (``_call(...,
"describe_db_clusters")``, ``get_paginator("list_objects_v2")``), naming one
of their operations in boto3's spelling. ``generate_db_auth_token`` signs
locally but is what ``rds-db:connect`` authorizes, so it counts as a call.
crhelper's module is read too: its polling calls run with the function's role.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import botocore.session
import crhelper.resource_helper
from botocore import xform_name

from tests.template.policy import ROOT

Call = tuple[str, str]  # (service, operation), e.g. ("rds", "DeleteDBCluster")

# Client methods that are no API operation but need a permission all the same.
CUSTOM_METHODS: dict[str, Call] = {
    "generate_db_auth_token": ("rds", "generate_db_auth_token"),
}
CRHELPER = Path(crhelper.resource_helper.__file__)
_CLIENT_FACTORIES = {"client", "_LazyClient"}


def _trees(paths: Iterable[Path]) -> list[ast.Module]:
    files: list[Path] = []
    for path in paths:
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [ast.parse(file.read_text(), filename=str(file)) for file in files]


def _services(trees: list[ast.Module]) -> set[str]:
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in _CLIENT_FACTORIES
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.add(first.value)
    return found


@cache
def _operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name, for one service (botocore's model)."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


# Receiver names that say which service a client is (``self._cfn``, ``_lambda_client``).
_ALIASES = {"cfn": "cloudformation"}


def _receiver_hint(node: ast.expr) -> str:
    """The name a method is called on, lowercased: ``self._lambda_client`` -> ``_lambda_client``."""
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    return node.id.lower() if isinstance(node, ast.Name) else ""


def _names_used(trees: list[ast.Module]) -> set[tuple[str, str]]:
    """(method or string, receiver hint) pairs; strings have no receiver."""
    names: set[tuple[str, str]] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                names.add((node.func.attr, _receiver_hint(node.func.value)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add((node.value, ""))
    return names


def _hinted(hint: str, services: set[str]) -> set[str]:
    named = {s for s in services if s in hint}
    named |= {service for alias, service in _ALIASES.items() if alias in hint}
    return named & services


def calls_in(paths: Iterable[Path], services: set[str] | None = None) -> set[Call]:
    """The API calls the code under ``paths`` makes (services: those it makes clients for,
    unless given). A method called on a client whose name says its service counts for
    that service only (crhelper's ``_lambda_client.remove_permission`` is no EventBridge
    call)."""
    trees = _trees(paths)
    services = services if services is not None else _services(trees)
    found: set[Call] = set()
    for name, hint in _names_used(trees):
        if name in CUSTOM_METHODS:
            found.add(CUSTOM_METHODS[name])
            continue
        having = {s for s in services if name in _operations(s)}
        candidates = (_hinted(hint, having) or having) if hint else having
        found |= {(service, _operations(service)[name]) for service in candidates}
    return found


def provider_services() -> set[str]:
    return _services(_trees([ROOT / "provider", CRHELPER]))


def calls(*relative: str, crhelper: bool = False) -> set[Call]:
    """The calls in the given folders of the repository (and crhelper's, if asked)."""
    paths = [ROOT / part for part in relative] + ([CRHELPER] if crhelper else [])
    return calls_in(paths, provider_services())
