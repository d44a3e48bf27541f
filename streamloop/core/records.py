"""A JSON document's records with their exact original text, so one odd record cannot hurt its neighbours.

The collector lands each record's text as the client sent it (the lake promises the original bytes), so it
needs where each array item starts and ends in the body. orjson gives no positions; the standard library's C
scanner (`JSONDecoder.scan_once`) parses a value starting at an offset and returns where it ended, which is
both the parse and the slice, at ~1.5 µs per typical event (measured in benchmarks/collector.py).

Each record also gets its problems found here, before anything downstream can trip over them: nesting deeper
than MAX_DEPTH (the standard parser would raise RecursionError; orjson refuses > 254 levels on output),
integers outside 64 bits and numbers that overflow to infinity (orjson, DuckDB and Parquet cannot carry
them), and unpaired UTF-16 surrogate escapes (not encodable as UTF-8). Finding them walks the value only when a
cheap scan of the text says one might be there, so ordinary events pay two C-level string scans.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from json.decoder import scanstring

MAX_DEPTH = 32  # contract events are 3 levels deep; 32 leaves room for any client's nested properties
INT64 = (-(2**63), 2**63 - 1)

_scan_once = json.JSONDecoder().scan_once
_WS = re.compile(r"[ \t\n\r]*")
# a string token (possibly a key, when a colon follows) or a bracket: enough to walk nesting in text
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*(:)?|[\[\]{}]', re.DOTALL)
# what could hide a problem: a long digit run (big integer), a 3-digit exponent, a surrogate escape
_SUSPECT = re.compile(r"\d{19}|[eE][+-]?\d{3}|\\u[dD][89abAB]")


class BodyError(ValueError):
    """The document as a whole is not JSON of the expected shape (one line, for a 400)."""


@dataclass(slots=True)
class RawRecord:
    text: str            # the record's JSON text exactly as sent
    value: object        # the parsed value; None when `errors` says it could not be used
    errors: list[str]    # problems naming the field ("properties.a.b: …"); [] for a usable record


def split_list(text: str, key: str) -> list[RawRecord]:
    """The items of the top-level object's `key` array (the last one, as JSON parsers keep), each with
    its exact text. Raises BodyError when the document is not such an object."""
    shape = f'body must be a JSON object with an "{key}" list'
    i = _ws(text, 0)
    if text[i:i + 1] != "{":
        raise BodyError(shape if _is_json(text) else _not_json(text, i))
    i = _ws(text, i + 1)
    found = None
    if text[i:i + 1] == "}":
        i += 1
    else:
        while True:
            if text[i:i + 1] != '"':
                raise BodyError(_not_json(text, i))
            try:
                name, i = scanstring(text, i + 1)
            except json.JSONDecodeError as exc:
                raise BodyError(f"body is not valid JSON: {exc}") from None
            i = _ws(text, i)
            if text[i:i + 1] != ":":
                raise BodyError(_not_json(text, i))
            i = _ws(text, i + 1)
            if name == key and text[i:i + 1] == "[":
                found, i = _items(text, i)
            else:
                found = None if name == key else found
                i = _value_end(text, i)
            i = _ws(text, i)
            separator = text[i:i + 1]
            if separator not in (",", "}"):
                raise BodyError(_not_json(text, i))
            i = _ws(text, i + 1)
            if separator == "}":
                break
    i = _ws(text, i)
    if i != len(text):
        raise BodyError(f"body is not valid JSON: extra data at char {i}")
    if found is None:
        raise BodyError(shape)
    return found


def split_array(text: str) -> list[RawRecord]:
    """The items of a top-level JSON array, each with its exact text (BodyError if it is not one)."""
    i = _ws(text, 0)
    if text[i:i + 1] != "[":
        raise BodyError("not a JSON array")
    items, i = _items(text, i)
    if _ws(text, i) != len(text):
        raise BodyError(f"not valid JSON: extra data at char {i}")
    return items


def _items(text: str, i: int) -> tuple[list[RawRecord], int]:
    """Records of the array starting at text[i] == '[', and the offset after its ']'."""
    out: list[RawRecord] = []
    i = _ws(text, i + 1)
    if text[i:i + 1] == "]":
        return out, i + 1
    while True:
        start = i
        try:
            value, i = _scan_once(text, i)
            raw = text[start:i]
            errors = record_problems(value, raw)
        except RecursionError:
            i = _nested_end(text, start)
            raw, value = text[start:i], None
            errors = [f"{_short(_deep_path(raw)) or 'record'}: nested more than {MAX_DEPTH} levels deep"]
        except StopIteration:
            raise BodyError(_not_json(text, start)) from None
        except json.JSONDecodeError as exc:
            raise BodyError(f"body is not valid JSON: {exc.msg} at char {exc.pos}") from None
        out.append(RawRecord(raw, None if errors else value, errors))
        i = _ws(text, i)
        separator = text[i:i + 1]
        if separator not in (",", "]"):
            raise BodyError(_not_json(text, i))
        if separator == "]":
            return out, i + 1
        i = _ws(text, i + 1)


def record_problems(value, text: str) -> list[str]:
    """What would stop this record from being stored and used as JSON, each naming its field."""
    if text.count("{") + text.count("[") <= MAX_DEPTH and not _SUSPECT.search(text):
        return []  # the usual case: two C scans, no walk
    problems: list[str] = []
    _walk(value, "", 1, problems)
    return problems


def _walk(value, path: str, depth: int, problems: list[str]) -> None:
    if isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            problems.append(f"{_short(path) or 'record'}: nested more than {MAX_DEPTH} levels deep")
            return
        pairs = value.items() if isinstance(value, dict) else ((f"[{n}]", v) for n, v in enumerate(value))
        for key, item in pairs:
            if isinstance(value, dict) and _has_surrogate(key):
                problems.append(f"{path or 'record'}: a key contains an unpaired UTF-16 surrogate escape")
                continue
            child = f"{path}{key}" if key.startswith("[") and isinstance(value, list) else \
                (f"{path}.{key}" if path else key)
            _walk(item, child, depth + 1, problems)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        problems.append(f"{path or 'record'}: integer outside the 64-bit range")
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{path or 'record'}: number too large to represent")
    elif isinstance(value, str) and _has_surrogate(value):
        problems.append(f"{path or 'record'}: contains an unpaired UTF-16 surrogate escape")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _value_end(text: str, i: int) -> int:
    """Where the JSON value starting at text[i] ends (a value the document does not need, e.g. other keys)."""
    try:
        return _scan_once(text, i)[1]
    except RecursionError:
        return _nested_end(text, i)
    except StopIteration:
        raise BodyError(_not_json(text, i)) from None
    except json.JSONDecodeError as exc:
        raise BodyError(f"body is not valid JSON: {exc.msg} at char {exc.pos}") from None


def _nested_end(text: str, i: int) -> int:
    """End of the array/object at text[i], found by brackets alone (for a value too deep to parse; it is
    rejected whole, its text kept as sent)."""
    depth = 0
    for match in _TOKEN.finditer(text, i):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    raise BodyError(f"body is not valid JSON: unterminated value at char {i}")


def _deep_path(text: str) -> str | None:
    """The field path (keys, `[]` for array levels) where the text's nesting passes MAX_DEPTH."""
    path: list[str] = []
    pending_key = None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if match.group(1):  # a key
            pending_key = json.loads(token[:token.rindex(":")].rstrip())
        elif token in "[{":
            path.append(pending_key if pending_key is not None else "[]")
            pending_key = None
            if len(path) > MAX_DEPTH + 1:
                return _join(path[1:])
        elif token in "]}":
            path.pop() if path else None
            pending_key = None
    return None


def _short(path: str | None, limit: int = 60) -> str | None:
    """A field path short enough for a message (a deep one is cut, its start is what locates it)."""
    return path if path is None or len(path) <= limit else path[:limit] + "…"


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        out += part if part == "[]" else (f".{part}" if out else part)
    return out


def _ws(text: str, i: int) -> int:
    return _WS.match(text, i).end()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _not_json(text: str, i: int) -> str:
    return f"body is not valid JSON: unexpected {text[i:i + 1]!r} at char {i}" if i < len(text) else \
        "body is not valid JSON: unexpected end"
