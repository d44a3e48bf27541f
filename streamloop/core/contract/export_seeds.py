"""Writes the dbt seeds that carry the event contract into the warehouse (dbt staging's validation rules).

The JSON Schema stays the one source of truth; these CSVs are derived from it and committed so dbt can
read them. `tests/test_warehouse_contract_seeds.py` fails when they drift from the schema.

    python -m streamloop.core.contract.export_seeds            # rewrite dbt_project/seeds/contract_*.csv
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from streamloop.core.contract.schema import EVENT_SCHEMA, EVENT_TYPES, TYPE_RULES
from streamloop.core.settings import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

TYPES_COLUMNS = ["event_type"]
FIELDS_COLUMNS = ["event_type", "field", "json_type", "is_required", "allowed_values", "min_length", "minimum", "maximum"]


def _json_type(rule: dict) -> str:
    """The one JSON type a property rule accepts (enums take the type of their values)."""
    if "enum" in rule:
        kinds = {type(v) for v in rule["enum"]}
        if kinds == {str}:
            return "string"
        if kinds == {int}:
            return "integer"
        raise ValueError(f"enum of mixed types is not supported: {rule['enum']}")
    types = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
    types = [t for t in types if t != "null"]
    if len(types) != 1:
        raise ValueError(f"a property must have one JSON type, got {rule['type']}")
    return types[0]


def _number(value) -> str:
    return "" if value is None else str(value)


def field_rows() -> list[dict]:
    """One row per (event type, field) rule: `properties.<name>` for properties, or an envelope id."""
    rows = []
    for event_type in sorted(TYPE_RULES):
        rules = TYPE_RULES[event_type]
        props = rules["properties"]
        required = set(props.get("required", []))
        for name, rule in props.get("properties", {}).items():
            rows.append(_row(event_type, f"properties.{name}", rule, name in required))
        # envelope ids a type requires (login needs profile_id and account_id, …)
        for name, rule in rules.items():
            if name != "properties":
                rows.append(_row(event_type, name, rule, True))
    return rows


def _row(event_type: str, field: str, rule: dict, is_required: bool) -> dict:
    return {
        "event_type": event_type,
        "field": field,
        "json_type": _json_type(rule),
        "is_required": "true" if is_required else "false",
        "allowed_values": "|".join(str(v) for v in rule.get("enum", [])),
        "min_length": _number(rule.get("minLength")),
        "minimum": _number(rule.get("minimum")),
        "maximum": _number(rule.get("maximum")),
    }


def render_csv(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def seed_texts() -> dict[str, str]:
    """File name → CSV text of every contract seed."""
    assert EVENT_SCHEMA["properties"]["schema_version"]["const"] == 1
    return {
        "contract_event_types.csv": render_csv(TYPES_COLUMNS, [{"event_type": t} for t in sorted(EVENT_TYPES)]),
        "contract_event_fields.csv": render_csv(FIELDS_COLUMNS, field_rows()),
    }


def write_seeds(directory: Path = SEEDS_DIR) -> list[Path]:
    paths = []
    for name, text in seed_texts().items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_seeds():
        print(written)
