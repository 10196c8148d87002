"""template.yaml, shipped in the package as JSON: what the CDK constructs build from.

``template.yaml`` (at the repository's root, where ``sam`` reads it) is the one
definition of the provider's functions, roles and policies.
``AuroraExpressProvider`` (``aurora_express.cdk``) builds the same resources
from it, so its copy travels in the wheel as ``provider_template.json``.
``python -m aurora_express.provider_template`` writes the copy; ``--check``
fails when it differs from template.yaml (``make lint`` runs it, as it does
for ``schemas/``).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "template.yaml"
COPY = Path(__file__).with_name("provider_template.json")


def _loader() -> Any:
    """A YAML loader that reads CloudFormation's short forms (``!Sub``) as their long forms."""
    import yaml  # noqa: PLC0415 (only writing or checking the copy needs PyYAML)

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def intrinsic(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
        return {name: value}

    Loader.add_multi_constructor("!", intrinsic)
    return Loader


def parse(text: str) -> dict[str, Any]:
    """A CloudFormation YAML template as the JSON CloudFormation would read."""
    import yaml  # noqa: PLC0415

    data = yaml.load(text, Loader=_loader())  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(data, dict):
        raise ValueError("a template is a mapping")
    return data


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=1) + "\n"


@cache
def load() -> dict[str, Any]:
    """The shipped copy of template.yaml."""
    data: dict[str, Any] = json.loads(COPY.read_text())
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the copy is out of date")
    args = parser.parse_args(argv)
    text = render(parse(SOURCE.read_text()))
    if not args.check:
        COPY.write_text(text)
        print(f"wrote {COPY}")
        return 0
    if not COPY.exists() or COPY.read_text() != text:
        print(
            f"{COPY} is out of date with {SOURCE.name}"
            " (run python -m aurora_express.provider_template)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
