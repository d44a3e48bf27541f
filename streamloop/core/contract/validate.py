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
from functools import lru_cache

from streamloop.core.contract.schema import CATALOG_SCHEMA, EVENT_SCHEMA, MAX_FUTURE_SKEW_SECONDS, TYPE_RULES

_JSON_TYPES = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}
_OFFSET_RE = re.compile(r"(Z|z|[+-]\d{2}:\d{2})$")
_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|[+-]\d{2}:\d{2})?$")


def parse_timestamp(value: str) -> datetime | None:
    """RFC 3339 timestamp with offset -> aware datetime; None if not RFC 3339 or without offset."""
    return _parse_rfc3339(value) if isinstance(value, str) else None


# The collector reads each event's occurred_at three times (format check, future-skew check,
# real-time state) within one request: a small cache of recent strings parses each once.
@lru_cache(maxsize=4096)
def _parse_rfc3339(value: str) -> datetime | None:
    if not _RFC3339_RE.match(value) or not _OFFSET_RE.search(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


# A compiled check appends to `errors` every way `value` breaks its rule; `field` names the value in
# messages (an argument, because an array's items share one check)
Check = Callable[[object, list, str], None]

# the Python test of one JSON Schema type for a value in local `v` (booleans are not numbers; an
# integral float counts as an integer)
_TYPE_EXPRESSIONS = {
    "string": "isinstance({v}, str)",
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "integer": "((isinstance({v}, int) and not isinstance({v}, bool)) or (isinstance({v}, float) and {v}.is_integer()))",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
}


class _Source:
    """Python source of one check function, with the constants (enums, patterns) it refers to."""

    def __init__(self, parent: _Source | None = None):
        self.lines: list[str] = []
        # a nested block shares its parent's constants and goes one local variable deeper (v0, v1, …)
        self.constants: dict[str, object] = parent.constants if parent else {}
        self.depth = parent.depth + 1 if parent else 0

    def constant(self, value) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _field(static: str | None, runtime: str) -> str:
    """A message's field name: a literal when known at compile time, else the expression."""
    return repr(static) if static is not None else runtime


def _child_field(static: str | None, runtime: str, key: str) -> tuple[str | None, str]:
    if static is not None:
        name = f"{static}.{key}" if static else key
        return name, repr(name)
    return None, f"(({runtime}) + '.' + {key!r} if ({runtime}) else {key!r})"


def _emit_rule(src: _Source, rule: dict, var: str, static: str | None, runtime: str, indent: int) -> None:
    """Statements that check the value in local `var` (field: `static` if known, else the expression
    `runtime`), in the order of JSON Schema's keywords as read here: const, enum, type end the checks."""
    field = _field(static, runtime)
    branches = []
    if "const" in rule:
        const = src.constant(rule["const"])
        # JSON Schema compares types too: `true` is not the constant 1, although Python's True == 1
        test = f"{var} != {const} or isinstance({var}, bool) != {isinstance(rule['const'], bool)}"
        branches.append((test, f"f\"{{{field}}}: must be {{{const}!r}}\""))
    if "enum" in rule:
        enum = rule["enum"]
        members = src.constant(_enum_members(enum))
        has_bool = any(isinstance(e, bool) for e in enum)
        text = src.constant(", ".join(map(str, enum)))
        test = f"not (_in({var}, {members}) and isinstance({var}, bool) == {has_bool})"
        branches.append((test, f"f\"{{{field}}}: must be one of {{{text}}} (got {{{var}!r}})\""))
    if "type" in rule:
        types = [rule["type"]] if isinstance(rule["type"], str) else list(rule["type"])
        test = " or ".join(_TYPE_EXPRESSIONS[t].format(v=var) for t in types)
        expected = src.constant(" or ".join(types))
        branches.append((f"not ({test})", f"f\"{{{field}}}: must be {{{expected}}} (got {{type({var}).__name__}})\""))
    keyword = "if"
    for test, message in branches:
        src.emit(indent, f"{keyword} {test}:")
        src.emit(indent + 1, f"errors.append({message})")
        keyword = "elif"
    body = _value_checks(src, rule, var, static, runtime)
    if body:
        src.emit(indent, f"{keyword} {var} is not None:" if branches else f"if {var} is not None:")
        for depth, line in body:
            src.emit(indent + 1 + depth, line)


def _value_checks(src: _Source, rule: dict, var: str, static: str | None, runtime: str) -> list[tuple[int, str]]:
    """(relative indent, line) pairs for the keywords that depend on the value's kind."""
    field = _field(static, runtime)
    out: list[tuple[int, str]] = []
    text = []
    if rule.get("minLength", 0) > 0:
        text += [f"if len({var}) < {rule['minLength']}:", f"    errors.append(f\"{{{field}}}: must not be empty\")"]
    if "maxLength" in rule:
        text += [f"if len({var}) > {rule['maxLength']}:",
                 f"    errors.append(f\"{{{field}}}: longer than {rule['maxLength']} characters\")"]
    if "pattern" in rule:
        pattern = src.constant(re.compile(_ecma_anchors(rule["pattern"])))
        shown = src.constant(rule["pattern"])
        text += [f"if not {pattern}.search({var}):",
                 f"    errors.append(f\"{{{field}}}: {{{var}!r}} does not match {{{shown}}}\")"]
    if rule.get("format") == "date-time":
        text += [f"if parse_timestamp({var}) is None:",
                 f"    errors.append(f\"{{{field}}}: not an RFC 3339 timestamp with offset (got {{{var}!r}})\")"]
    if rule.get("format") == "date":
        text += ["try:", f"    date.fromisoformat({var})", "except ValueError:",
                 f"    errors.append(f\"{{{field}}}: not an ISO date (got {{{var}!r}})\")"]
    number = []
    if "minimum" in rule:
        number += [f"if {var} < {rule['minimum']!r}:", f"    errors.append(f\"{{{field}}}: must be >= {rule['minimum']}\")"]
    if "exclusiveMinimum" in rule:
        number += [f"if {var} <= {rule['exclusiveMinimum']!r}:",
                   f"    errors.append(f\"{{{field}}}: must be > {rule['exclusiveMinimum']}\")"]
    if "maximum" in rule:
        number += [f"if {var} > {rule['maximum']!r}:", f"    errors.append(f\"{{{field}}}: must be <= {rule['maximum']}\")"]
    obj = _object_checks(src, rule, var, static, runtime)
    array = []
    if rule.get("minItems", 0) > 0:
        array += [(0, f"if len({var}) < {rule['minItems']}:"),
                  (1, f"errors.append(f\"{{{field}}}: needs at least {rule['minItems']} item(s)\")")]
    if "items" in rule:
        item = src.constant(compile_rule(rule["items"]))
        index_field = f"f\"{{{field}}}[{{i}}]\""
        array += [(0, f"for i, item in enumerate({var}):"), (1, f"{item}(item, errors, {index_field})")]
    keyword = "if"
    for kind, lines in (("isinstance({v}, str)", [(0, t) for t in text]),
                        ("isinstance({v}, (int, float)) and not isinstance({v}, bool)", [(0, t) for t in number]),
                        ("isinstance({v}, dict)", obj), ("isinstance({v}, list)", array)):
        if lines:
            out.append((0, f"{keyword} {kind.format(v=var)}:"))
            out += [(1 + depth, line) for depth, line in lines]
            keyword = "elif"
    return out


def _object_checks(src: _Source, rule: dict, var: str, static: str | None, runtime: str) -> list[tuple[int, str]]:
    sub = _Source(parent=src)
    for key in rule.get("required", ()):
        name, expr = _child_field(static, runtime, key)
        sub.emit(0, f"if {key!r} not in {var}:")
        sub.emit(1, f"errors.append(f\"{{{expr}}}: required\")")
    for choice in rule.get("anyOf", ()):  # only `anyOf` of `required` lists: "one of these fields"
        if set(choice) != {"required"}:
            raise ValueError("the contract compiler supports anyOf of required lists only")
    if rule.get("anyOf"):
        keys = [key for choice in rule["anyOf"] for key in choice["required"]]
        field = _field(static, runtime)
        sub.emit(0, f"if not any(k in {var} for k in {tuple(keys)!r}):")
        sub.emit(1, f"errors.append(f\"{{{field}}}: needs one of {', '.join(keys)}\")")
    for key, child in rule.get("properties", {}).items():
        name, expr = _child_field(static, runtime, key)
        local = f"v{sub.depth}"
        sub.emit(0, f"if {key!r} in {var}:")
        sub.emit(1, f"{local} = {var}[{key!r}]")
        _emit_rule(sub, child, local, name, expr, 1)
    return [((len(line) - len(line.lstrip(" "))) // 4, line.lstrip(" ")) for line in sub.lines]


def _ecma_anchors(pattern: str) -> str:
    """A JSON Schema (ECMA 262) pattern for Python's `re`: a final `$` matches only at the very end, where
    Python's also matches before a trailing newline ("DE\\n" would pass `^[A-Z]{2}$`)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


def _enum_members(enum: list):
    try:
        return frozenset(enum)
    except TypeError:  # an enum of unhashable values: compare one by one
        return list(enum)


def _in(value, members) -> bool:
    try:
        return value in members
    except TypeError:  # an unhashable value (object, array) is never an enum member
        return False


def compile_rule(rule: dict, field: str | None = None) -> Check:
    """The checks of one schema rule as generated Python: the schema is read once, here, into one
    function with the nested objects' checks inlined (array items get their own function). With
    `field` known here (everything but array items), field names are literals."""
    src = _Source()
    _emit_rule(src, rule, "value", field, "field", 1)
    source = "\n".join(["def check(value, errors, field):", *src.lines, "    return None"])
    namespace = {"parse_timestamp": parse_timestamp, "date": date, "_in": _in, **src.constants}
    # the source is generated from the contract files in this repository, never from input data
    exec(compile(source, f"<contract check {field or 'item'}>", "exec"), namespace)  # noqa: S102
    return namespace["check"]


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
    if isinstance(event_type, str) and event_type in _TYPE_CHECKS:  # an object or array is not hashable
        for key, check in _TYPE_CHECKS[event_type]:
            if key in event:
                # a non-object `properties` is already reported by the envelope check
                check(event[key], errors if key != "properties" or isinstance(event[key], dict) else [], key)
    occurred = parse_timestamp(event.get("occurred_at"))
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
