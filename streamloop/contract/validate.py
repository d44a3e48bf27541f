"""Validates events and catalog records against the contract, returning every error with its field.

The JSON Schema files are the source of truth; this module compiles the subset of JSON Schema they
use (type, enum, const, required, minLength/maxLength, minimum/maximum, pattern, format, items) into
plain Python checks, because a generic JSON Schema engine is ~50x too slow for the collector's budget.
`tests/test_contract.py` cross-checks it against the reference `jsonschema` implementation.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from streamloop.contract.schema import CATALOG_SCHEMA, EVENT_SCHEMA, MAX_FUTURE_SKEW_SECONDS, TYPE_RULES

_JSON_TYPES = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}
_OFFSET_RE = re.compile(r"(Z|z|[+-]\d{2}:\d{2})$")
_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|[+-]\d{2}:\d{2})?$")


def _type_ok(value, types) -> bool:
    if isinstance(types, str):
        types = [types]
    for t in types:
        if t in ("integer", "number") and isinstance(value, bool):
            continue
        if t == "integer" and isinstance(value, float) and value.is_integer():
            return True
        if isinstance(value, _JSON_TYPES[t]):
            return True
    return False


def parse_timestamp(value: str) -> datetime | None:
    """RFC 3339 timestamp with offset -> aware datetime; None if not RFC 3339 or without offset."""
    if not isinstance(value, str) or not _RFC3339_RE.match(value) or not _OFFSET_RE.search(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


def check_value(field: str, value, rule: dict, errors: list[str]) -> None:
    """Appends to `errors` every way `value` breaks the schema `rule` (a leaf or nested schema)."""
    if "const" in rule and value != rule["const"]:
        errors.append(f"{field}: must be {rule['const']!r}")
        return
    if "enum" in rule and (value not in rule["enum"] or isinstance(value, bool) != any(isinstance(e, bool) for e in rule["enum"])):
        errors.append(f"{field}: must be one of {', '.join(map(str, rule['enum']))} (got {value!r})")
        return
    if "type" in rule and not _type_ok(value, rule["type"]):
        expected = rule["type"] if isinstance(rule["type"], str) else " or ".join(rule["type"])
        errors.append(f"{field}: must be {expected} (got {type(value).__name__})")
        return
    if value is None:
        return
    if isinstance(value, str):
        if len(value) < rule.get("minLength", 0):
            errors.append(f"{field}: must not be empty")
        if "maxLength" in rule and len(value) > rule["maxLength"]:
            errors.append(f"{field}: longer than {rule['maxLength']} characters")
        if "pattern" in rule and not re.search(rule["pattern"], value):
            errors.append(f"{field}: {value!r} does not match {rule['pattern']}")
        if rule.get("format") == "date-time" and parse_timestamp(value) is None:
            errors.append(f"{field}: not an RFC 3339 timestamp with offset (got {value!r})")
        if rule.get("format") == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                errors.append(f"{field}: not an ISO date (got {value!r})")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in rule and value < rule["minimum"]:
            errors.append(f"{field}: must be >= {rule['minimum']}")
        if "exclusiveMinimum" in rule and value <= rule["exclusiveMinimum"]:
            errors.append(f"{field}: must be > {rule['exclusiveMinimum']}")
        if "maximum" in rule and value > rule["maximum"]:
            errors.append(f"{field}: must be <= {rule['maximum']}")
    elif isinstance(value, dict):
        for key in rule.get("required", []):
            if key not in value:
                errors.append(f"{field}.{key}: required" if field else f"{key}: required")
        for key, sub in rule.get("properties", {}).items():
            if key in value:
                check_value(f"{field}.{key}" if field else key, value[key], sub, errors)
    elif isinstance(value, list):
        if len(value) < rule.get("minItems", 0):
            errors.append(f"{field}: needs at least {rule['minItems']} item(s)")
        if "items" in rule:
            for i, item in enumerate(value):
                check_value(f"{field}[{i}]", item, rule["items"], errors)


def validate_event(event, received_at: datetime | None = None) -> list[str]:
    """Every contract error of one event, each naming its field; [] when the event is valid.

    `received_at` (default: now) bounds how far in the future `occurred_at` may be.
    """
    if not isinstance(event, dict):
        return [f"event: must be a JSON object (got {type(event).__name__})"]
    errors: list[str] = []
    check_value("", event, EVENT_SCHEMA, errors)
    event_type = event.get("event_type")
    if event_type in TYPE_RULES:
        for key, rule in TYPE_RULES[event_type].items():
            if key in event:
                # a non-object `properties` is already reported by the envelope check
                check_value(key, event[key], rule, errors if key != "properties" or isinstance(event[key], dict) else [])
    occurred = parse_timestamp(event.get("occurred_at")) if isinstance(event.get("occurred_at"), str) else None
    if occurred is not None:
        now = received_at or datetime.now(UTC)
        if occurred - now > timedelta(seconds=MAX_FUTURE_SKEW_SECONDS):
            errors.append(f"occurred_at: more than {MAX_FUTURE_SKEW_SECONDS // 3600} h in the future")
    # de-duplicate while keeping order (a nested rule can repeat an envelope error)
    return list(dict.fromkeys(errors))


def validate_catalog_record(record) -> list[str]:
    """Every contract error of one catalog record, each naming its field."""
    if not isinstance(record, dict):
        return [f"record: must be a JSON object (got {type(record).__name__})"]
    errors: list[str] = []
    check_value("", record, CATALOG_SCHEMA, errors)
    if record.get("kind") == "episode":
        for key in ("series_id", "season", "episode"):
            if record.get(key) is None:
                errors.append(f"{key}: required for episodes")
    return list(dict.fromkeys(errors))
