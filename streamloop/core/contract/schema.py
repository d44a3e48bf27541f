"""Loads the contract files and exposes the facts other modules need (types, required properties)."""
from __future__ import annotations

import json
from pathlib import Path

_HERE = Path(__file__).resolve().parent

EVENT_SCHEMA: dict = json.loads((_HERE / "event.schema.json").read_text())
CATALOG_SCHEMA: dict = json.loads((_HERE / "catalog.schema.json").read_text())

EVENT_TYPES: tuple[str, ...] = tuple(EVENT_SCHEMA["properties"]["event_type"]["enum"])
MATURITY_RATINGS: tuple[str, ...] = tuple(CATALOG_SCHEMA["properties"]["maturity_rating"]["enum"])
MAX_FUTURE_SKEW_SECONDS: int = EVENT_SCHEMA["x-max-future-skew-seconds"]
DEVICE_TYPES: tuple[str, ...] = tuple(EVENT_SCHEMA["properties"]["context"]["properties"]["device_type"]["enum"])


def _type_rules() -> dict[str, dict]:
    rules = {}
    for clause in EVENT_SCHEMA["allOf"]:
        event_type = clause["if"]["properties"]["event_type"]["const"]
        rules[event_type] = clause["then"]["properties"]
    return rules


TYPE_RULES: dict[str, dict] = _type_rules()


def required_properties(event_type: str) -> list[str]:
    """Properties an event of this type must carry."""
    return list(TYPE_RULES[event_type]["properties"]["required"])


def alternative_properties(event_type: str) -> list[list[str]]:
    """Groups of properties of which an event of this type must carry one (`anyOf` of required lists):
    consent_updated takes a `channel` or a `purpose`."""
    return [list(choice["required"]) for choice in TYPE_RULES[event_type]["properties"].get("anyOf", ())]


def required_identity(event_type: str) -> list[str]:
    """Envelope ids (profile_id, account_id) that must be set on an event of this type."""
    return [k for k in TYPE_RULES[event_type] if k != "properties"]
