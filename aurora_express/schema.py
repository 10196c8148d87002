"""JSON Schemas of both resource types' properties, generated from the providers' models.

``python -m aurora_express.schema`` writes ``schemas/*.json``; ``--check`` fails
when they differ from what the models give (CI runs it, so the schemas
cannot drift from the handlers). The schemas describe what a template author
writes, not what the handler receives: a number or boolean may also be given
as its string (CloudFormation sends strings anyway), and any property may be
an intrinsic function (``Ref``, ``Fn::Sub``, ...), which no schema can judge.
Checks the model makes in code (half steps of capacity, durations, the
MinCapacity/MaxCapacity order) are not in the schema: the lint rules
(``aurora_express.lint``) run that code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from provider.cluster import properties as cluster
from provider.migrations import properties as migrations

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

INTRINSIC = {
    "description": "An intrinsic function (Ref, Fn::GetAtt, Fn::Sub, ...): checked at deploy time.",
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "propertyNames": {"pattern": "^(Ref|Fn::[A-Za-z0-9:]+)$"},
}
_AS_STRING = {
    "number": r"^-?[0-9]+(\.[0-9]+)?$",
    "integer": r"^-?[0-9]+$",
    "boolean": "^(true|false|True|False)$",
}


class TypeSpec:
    """One resource type: its name, its model, the file its schema goes to."""

    def __init__(
        self, type_name: str, model: type[BaseModel], file: str, notes: Mapping[str, str]
    ) -> None:
        self.type_name, self.model, self.file, self.notes = type_name, model, file, notes


TYPES = (
    TypeSpec(
        cluster.RESOURCE_TYPE,
        cluster.ClusterProperties,
        "custom-aurora-express.json",
        cluster.EXPECTED,
    ),
    TypeSpec(
        "Custom::AuroraExpressMigrations",
        migrations.MigrationsProperties,
        "custom-aurora-express-migrations.json",
        {},
    ),
)


def _or_intrinsic(schema: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {k: schema[k] for k in ("description", "default") if k in schema}
    form = {k: v for k, v in schema.items() if k not in meta}
    options = form["anyOf"] if set(form) == {"anyOf"} else [form]
    return {**meta, "anyOf": [*options, {"$ref": "#/$defs/IntrinsicFunction"}]}


def _editor_form(node: Any) -> Any:
    """``node`` as a template author writes it.

    Without pydantic's titles and nulls; numbers and booleans also as
    strings; every property and list item also as an intrinsic function.
    """
    if isinstance(node, list):
        return [_editor_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _editor_form(v) for k, v in node.items() if k != "title"}
    if "anyOf" in out:
        options = [o for o in out["anyOf"] if o != {"type": "null"}]
        if len(options) == 1:
            del out["anyOf"]
            out = {**options[0], **out}
        else:
            out["anyOf"] = options
    if out.get("default", 0) is None:
        del out["default"]
    kind = out.get("type")
    if kind in _AS_STRING:
        keep = {k: out.pop(k) for k in ("description", "default") if k in out}
        out = {**keep, "anyOf": [out, {"type": "string", "pattern": _AS_STRING[kind]}]}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _or_intrinsic(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _or_intrinsic(out["items"])
    return out


def schema_for(spec: TypeSpec) -> dict[str, Any]:
    """The editor schema of ``spec``'s properties."""
    raw = spec.model.model_json_schema(by_alias=True, mode="validation")
    form = _editor_form({k: v for k, v in raw.items() if k != "$defs"})
    for name, note in spec.notes.items():
        if name in form["properties"]:
            form["properties"][name]["description"] = note
    defs = {name: _editor_form(d) for name, d in raw.get("$defs", {}).items()}
    return {
        "$schema": DIALECT,
        "title": f"{spec.type_name} properties",
        "description": f"The Properties of a {spec.type_name} resource; ServiceToken is required.",
        "type": "object",
        "required": ["ServiceToken"],
        "additionalProperties": False,
        "properties": form["properties"],
        "$defs": {**defs, "IntrinsicFunction": INTRINSIC},
    }


def render(spec: TypeSpec) -> str:
    return json.dumps(schema_for(spec), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if schemas/ is out of date")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR)
    args = parser.parse_args(argv)
    stale = []
    for spec in TYPES:
        path = args.out / spec.file
        text = render(spec)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if stale:
        print(
            f"out of date (run python -m aurora_express.schema): {', '.join(stale)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
