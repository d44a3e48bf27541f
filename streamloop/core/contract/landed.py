"""Parse once: the typed columns an event record carries in the raw lake, filled when it is landed.

Every writer of the lake's `events` kind goes through `Lake.write_table`, which calls `typed_columns` on
the records' texts: each text that parses to an event the contract accepts (the edge validator,
streamloop.core.contract.validate) gets its fields as typed columns and `landed_typed = true`; dbt staging
(stg_lake__events) then reads those columns and never parses its JSON again. Anything else — invalid,
or a value whose SQL parse could differ from Python's (see `_type_into`) — is left untyped, and staging
parses and validates its text as before. Untyped is always safe; typed must equal what staging's own
parse would give, which tests/test_lake_typed.py checks by landing the same records both ways.

The column names are those of staging's parsed values (`<field>_value`, `context_<name>_value`,
`property_<name>_value`, `occurred_at_utc`), so staging's two branches meet in one select list. The list of
columns comes from the contract, as the dbt seeds do (export_seeds.field_rows): one source for both.
"""
from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from streamloop.core.contract.export_seeds import field_rows
from streamloop.core.contract.schema import EVENT_SCHEMA, MAX_FUTURE_SKEW_SECONDS
from streamloop.core.contract.validate import parse_timestamp, validate_event

TYPED_FLAG = "landed_typed"
ENVELOPE_STRINGS = ("event_id", "event_type", "device_id", "profile_id", "account_id")
CONTEXT_FIELDS = tuple(EVENT_SCHEMA["properties"]["context"]["required"])
_ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}
# staging reads integers through a double (DuckDB's JSON number): beyond 2^53 the two could differ
_EXACT_INTEGER = 2 ** 53
# Duplicate keys parse differently (orjson keeps the last, DuckDB the first), so a record whose text has
# more keys than its parsed objects hold stays untyped. Counting `":` is exact for texts with no whitespace
# after a quote (compact JSON, json.dumps' default); a `":` inside a string only over-counts (untyped, safe).
# Other texts take the regex of an object key, ~25x slower.
_KEY_RE = re.compile(r'"(?:[^"\\]|\\.)*"\s*:')
# DuckDB and Python both truncate fractions beyond microseconds; longer ones are left to staging anyway
_LONG_FRACTION_RE = re.compile(r"\.\d{7,}")


def _property_types() -> dict[str, str]:
    types: dict[str, str] = {}
    for row in field_rows():
        if row["field"].startswith("properties."):
            types[row["field"][len("properties."):]] = row["json_type"]
    return dict(sorted(types.items()))


PROPERTY_TYPES: dict[str, str] = _property_types()

TYPED_SCHEMA = pa.schema(
    [(TYPED_FLAG, pa.bool_())]
    + [(f"{name}_value", pa.string()) for name in ENVELOPE_STRINGS]
    + [("schema_version_value", pa.float64()), ("occurred_at_utc", pa.timestamp("us"))]
    + [(f"context_{name}_value", pa.string()) for name in CONTEXT_FIELDS]
    + [(f"property_{name}_value", _ARROW_TYPES[kind]) for name, kind in PROPERTY_TYPES.items()]
)


def _count_keys(value) -> int:
    """Keys of every object in a parsed JSON value."""
    count, pending = 0, [value]
    while pending:
        item = pending.pop()
        children = item.values() if type(item) is dict else item
        if type(item) is dict:
            count += len(item)
        pending += [child for child in children if type(child) in (dict, list)]
    return count


def _keys_in_text(raw: str) -> int:
    if '" ' in raw or '"\n' in raw or '"\t' in raw or '"\r' in raw:  # whitespace after a quote
        return len(_KEY_RE.findall(raw))
    return raw.count('":')


def _plain(value, kind: str):
    """A property's value as staging types it: the value when it has the column's JSON type, else null
    (as json_value_of_type does). Raises ValueError where staging's parse, through a double, might differ."""
    if kind == "string":
        return value if type(value) is str else None
    if kind == "boolean":
        return value if type(value) is bool else None
    if type(value) not in (int, float):
        return None
    if not math.isfinite(value) or abs(value) > _EXACT_INTEGER:  # beyond 2^53 a double rounds it
        raise ValueError
    if kind == "integer":
        return int(value) if value == int(value) else None
    return float(value)


# the future-skew rule needs each record's received time: checked on the columns (typed_columns), not by
# the validator per record, because turning an Arrow timestamp into a datetime costs ~2 µs a record
_NO_SKEW_LIMIT = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _type_into(columns: list[dict[int, object]], i: int, raw: str, event: dict | None = None) -> bool:
    """Writes row `i`'s non-null typed values into `columns` (per column position: row -> value) and says
    whether the record is typed; nothing is written when it is not. `event`: the record as the edge already
    parsed and validated it from this very text (the collector), which saves parsing and validating it
    again. Only the fields present are visited: most of the ~40 columns are properties of other types."""
    if event is None:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(event, dict) or validate_event(event, _NO_SKEW_LIMIT):
            return False
    if _keys_in_text(raw) != _count_keys(event):
        return False
    occurred_at = event["occurred_at"]
    if _LONG_FRACTION_RE.search(occurred_at):
        return False
    properties = []
    try:
        for name, value in event["properties"].items():
            if name in _PROPERTY_POSITION:
                position, kind = _PROPERTY_POSITION[name]
                properties.append((position, _plain(value, kind)))
    except ValueError:
        return False
    for position, value in properties:
        if value is not None:
            columns[position][i] = value
    # the validator has checked the envelope's and context's types: no need to check them again
    for name, position in _ENVELOPE_POSITIONS:
        value = event.get(name)
        if value is not None:
            columns[position][i] = value
    context = event["context"]
    for name, position in _CONTEXT_POSITIONS:
        columns[position][i] = context[name]
    columns[_SCHEMA_VERSION_POSITION][i] = float(event["schema_version"])
    columns[_OCCURRED_AT_POSITION][i] = (parse_timestamp(occurred_at) - _EPOCH_UTC) // _MICROSECOND
    return True


_POSITIONS = {field.name: i for i, field in enumerate(list(TYPED_SCHEMA)[1:])}
_ENVELOPE_POSITIONS = [(name, _POSITIONS[f"{name}_value"]) for name in ENVELOPE_STRINGS]
_SCHEMA_VERSION_POSITION = _POSITIONS["schema_version_value"]
_OCCURRED_AT_POSITION = _POSITIONS["occurred_at_utc"]
_CONTEXT_POSITIONS = [(name, _POSITIONS[f"context_{name}_value"]) for name in CONTEXT_FIELDS]
_PROPERTY_POSITION = {name: (_POSITIONS[f"property_{name}_value"], kind) for name, kind in PROPERTY_TYPES.items()}


def typed_columns(raws: Sequence[str], received_ats: pa.Array,
                  validated: Sequence[dict | None] | None = None) -> list[pa.Array]:
    """TYPED_SCHEMA's columns for landed records (their texts, and received times as an Arrow timestamp
    array), in its order. `validated`, per record, the event the edge parsed from that text and found valid
    (None: unknown), as _type_into takes it."""
    n = len(raws)
    fields = list(TYPED_SCHEMA)[1:]
    cells: list[dict[int, object]] = [{} for _ in fields]  # per column, row -> value, non-null values only
    typed_rows = [i for i, raw in enumerate(raws)
                  if raw and _type_into(cells, i, raw, validated[i] if validated is not None else None)]
    arrays = [_bool_array(n, typed_rows)] + [_sparse_array(n, column, field.type)
                                             for column, field in zip(cells, fields, strict=True)]
    # the contract's future-skew rule, as staging applies it: occurred_at more than the skew after received_at
    # (in microseconds: a Python scalar would go through pyarrow's conversion, which imports pandas)
    ahead = pc.subtract(arrays[1 + _OCCURRED_AT_POSITION].view(pa.int64()), received_ats.view(pa.int64()))
    later = pc.greater(ahead, _SKEW)
    too_late = pc.and_kleene(later, pc.is_valid(later))  # null (untyped rows) → false
    if pc.any(too_late).as_py():
        arrays = [pc.and_not(arrays[0], too_late)] + [pc.if_else(too_late, pa.nulls(n, a.type), a) for a in arrays[1:]]
    return arrays


def untyped_columns(n: int) -> list[pa.Array]:
    """TYPED_SCHEMA's columns for `n` records left for staging to parse: the flag false, every value null."""
    return [_bool_array(n, [])] + [pa.nulls(n, field.type) for field in list(TYPED_SCHEMA)[1:]]


# -- Arrow arrays from Python values, built from buffers ----------------------------------------------
# Why not pa.array(list): converting Python sequences makes pyarrow import pandas (its array-like check),
# ~0.4 s on a cold collector Lambda (tests/test_lake_tables.py), as streamloop.core.lake.raw_table says.
# Most typed columns are null in most rows (properties of other event types): only set values are visited.
_SKEW = pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(array("q", [MAX_FUTURE_SKEW_SECONDS * 1_000_000]))])[0]


def _bitmap(n: int, rows) -> pa.Buffer:
    bits = bytearray((n + 7) // 8)
    for i in rows:
        bits[i >> 3] |= 1 << (i & 7)
    return pa.py_buffer(bits)


def _bool_array(n: int, true_rows: list[int]) -> pa.Array:
    return pa.Array.from_buffers(pa.bool_(), n, [None, _bitmap(n, true_rows)])


def _sparse_array(n: int, values: dict[int, object], kind: pa.DataType) -> pa.Array:
    if not values:
        return pa.nulls(n, kind)
    validity = _bitmap(n, values)
    if kind == pa.string():
        lengths = [0] * (n + 1)
        encoded = []
        for i, value in values.items():  # rows in increasing order (filled in order)
            data = value.encode()
            lengths[i + 1] = len(data)
            encoded.append(data)
        offsets = array("i", accumulate(lengths))
        return pa.Array.from_buffers(kind, n, [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                     null_count=n - len(values))
    if kind == pa.bool_():
        return pa.Array.from_buffers(kind, n, [validity, _bitmap(n, [i for i, v in values.items() if v])],
                                     null_count=n - len(values))
    code = "d" if kind == pa.float64() else "q"
    data = array(code, bytes(8 * n))
    for i, value in values.items():  # timestamps come as microseconds since the epoch
        data[i] = value
    return pa.Array.from_buffers(kind, n, [validity, pa.py_buffer(data)], null_count=n - len(values))
