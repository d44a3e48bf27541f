"""Validates events and catalog records against the contract, returning every error with its field.

The JSON Schema files are the source of truth; this module compiles the subset of JSON Schema they
use (type, enum, const, required, minLength/maxLength, minimum/maximum, pattern, format, items) once,
at import, into nested Python closures, because a generic JSON Schema engine is ~50x too slow for the
collector's budget (and reading the schema dicts on every event was half of the collector's time).
`tests/test_contract.py` cross-checks it against the reference `jsonschema` implementation.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from streamloop.contract.schema import CATALOG_SCHEMA, EVENT_SCHEMA, MAX_FUTURE_SKEW_SECONDS, TYPE_RULES

_JSON_TYPES = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}
_OFFSET_RE = re.compile(r"(Z|z|[+-]\d{2}:\d{2})$")
_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|[+-]\d{2}:\d{2})?$")


def parse_timestamp(value: str) -> datetime | None:
    """RFC 3339 timestamp with offset -> aware datetime; None if not RFC 3339 or without offset."""
    if not isinstance(value, str) or not _RFC3339_RE.match(value) or not _OFFSET_RE.search(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


# A compiled check appends to `errors` every way `value` breaks its rule; `field` names the value
# in messages (passed in, because an array's items share one check)
Check = Callable[[object, list, str], None]
_MISSING = object()


def _child(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _type_test(types) -> Callable[[object], bool]:
    """JSON Schema `type`: booleans are not numbers, and an integral float counts as an integer."""
    names = [types] if isinstance(types, str) else list(types)
    allow_bool = "boolean" in names
    python_types = tuple(t for name in names if name != "boolean" for t in _JSON_TYPES[name])
    integral_float = "integer" in names and "number" not in names

    def ok(value) -> bool:
        if isinstance(value, bool):
            return allow_bool
        if isinstance(value, python_types):
            return True
        return integral_float and isinstance(value, float) and value.is_integer()

    return ok


def _enum_test(enum: list) -> Callable[[object], bool]:
    has_bool = any(isinstance(e, bool) for e in enum)
    try:
        members = frozenset(enum)
    except TypeError:  # an enum of unhashable values: compare one by one
        members = enum

    def ok(value) -> bool:
        try:
            found = value in members
        except TypeError:  # an unhashable value (object, array) is never an enum member
            found = False
        return found and isinstance(value, bool) == has_bool

    return ok


def compile_rule(rule: dict, field: str | None = None) -> Check:
    """The checks of one (possibly nested) schema rule as a function: the schema is read once here,
    not on every event. Checks run in a fixed order and the first of const/enum/type that fails
    ends the value's checks, as in JSON Schema's reading of these keywords. With `field` known here
    (everything but array items), nested names are built once instead of per event."""
    const = rule.get("const", _MISSING)
    enum = rule.get("enum")
    enum_ok = _enum_test(enum) if enum is not None else None
    enum_text = ", ".join(map(str, enum)) if enum is not None else ""
    types = rule.get("type")
    type_ok = _type_test(types) if types is not None else None
    expected = (types if isinstance(types, str) else " or ".join(types)) if types is not None else ""
    min_length, max_length = rule.get("minLength", 0), rule.get("maxLength")
    pattern = re.compile(rule["pattern"]) if "pattern" in rule else None
    fmt = rule.get("format")
    minimum, exclusive, maximum = rule.get("minimum"), rule.get("exclusiveMinimum"), rule.get("maximum")
    required = tuple(rule.get("required", ()))
    properties = [(key, None if field is None else _child(field, key),
                   compile_rule(sub, None if field is None else _child(field, key)))
                  for key, sub in rule.get("properties", {}).items()]
    min_items = rule.get("minItems", 0)
    items = compile_rule(rule["items"]) if "items" in rule else None

    def check(value, errors: list, field: str) -> None:
        if const is not _MISSING and value != const:
            errors.append(f"{field}: must be {const!r}")
            return
        if enum_ok is not None and not enum_ok(value):
            errors.append(f"{field}: must be one of {enum_text} (got {value!r})")
            return
        if type_ok is not None and not type_ok(value):
            errors.append(f"{field}: must be {expected} (got {type(value).__name__})")
            return
        if value is None:
            return
        if isinstance(value, str):
            if len(value) < min_length:
                errors.append(f"{field}: must not be empty")
            if max_length is not None and len(value) > max_length:
                errors.append(f"{field}: longer than {max_length} characters")
            if pattern is not None and not pattern.search(value):
                errors.append(f"{field}: {value!r} does not match {pattern.pattern}")
            if fmt == "date-time" and parse_timestamp(value) is None:
                errors.append(f"{field}: not an RFC 3339 timestamp with offset (got {value!r})")
            if fmt == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    errors.append(f"{field}: not an ISO date (got {value!r})")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if minimum is not None and value < minimum:
                errors.append(f"{field}: must be >= {minimum}")
            if exclusive is not None and value <= exclusive:
                errors.append(f"{field}: must be > {exclusive}")
            if maximum is not None and value > maximum:
                errors.append(f"{field}: must be <= {maximum}")
        elif isinstance(value, dict):
            for key in required:
                if key not in value:
                    errors.append(f"{_child(field, key)}: required")
            for key, name, sub in properties:
                if key in value:
                    sub(value[key], errors, name if name is not None else _child(field, key))
        elif isinstance(value, list):
            if len(value) < min_items:
                errors.append(f"{field}: needs at least {min_items} item(s)")
            if items is not None:
                for i, item in enumerate(value):
                    items(item, errors, f"{field}[{i}]")

    return check


_EVENT_CHECK = compile_rule(EVENT_SCHEMA, "")
_CATALOG_CHECK = compile_rule(CATALOG_SCHEMA, "")
_TYPE_CHECKS = {event_type: [(key, compile_rule(rule, key)) for key, rule in rules.items()]
                for event_type, rules in TYPE_RULES.items()}


def validate_event(event, received_at: datetime | None = None) -> list[str]:
    """Every contract error of one event, each naming its field; [] when the event is valid.

    `received_at` (default: now) bounds how far in the future `occurred_at` may be.
    """
    if not isinstance(event, dict):
        return [f"event: must be a JSON object (got {type(event).__name__})"]
    errors: list[str] = []
    _EVENT_CHECK(event, errors, "")
    event_type = event.get("event_type")
    if event_type in _TYPE_CHECKS:
        for key, check in _TYPE_CHECKS[event_type]:
            if key in event:
                # a non-object `properties` is already reported by the envelope check
                check(event[key], errors if key != "properties" or isinstance(event[key], dict) else [], key)
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
    _CATALOG_CHECK(record, errors, "")
    if record.get("kind") == "episode":
        for key in ("series_id", "season", "episode"):
            if record.get(key) is None:
                errors.append(f"{key}: required for episodes")
    return list(dict.fromkeys(errors))
