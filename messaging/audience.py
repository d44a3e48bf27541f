"""Audiences: a campaign's SQL predicate over the profile-level mart `messaging_profiles`.

The columns a predicate may name are the mart's (its YAML contract, the one list analytics engineers
extend) plus a few computed against the run's clock (`DERIVED`), so `--at` moves them too. A predicate
is checked at load by DuckDB's binder over an empty table with those columns: a missing column fails
naming it, before any run.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from streamloop.core.settings import DBT_PROJECT_DIR

MART = "messaging_profiles"
MART_YAML = DBT_PROJECT_DIR / "models" / "marts" / "messaging" / f"{MART}.yml"

# column -> (type, SQL over the mart and $at, the run's instant as a UTC timestamp)
DERIVED = {
    "days_since_last_active": ("double", "date_diff('second', last_active_at, $at) / 86400.0"),
    "days_since_last_play": ("double", "date_diff('second', last_play_at, $at) / 86400.0"),
    "days_since_last_message": ("double", "date_diff('second', last_message_at, $at) / 86400.0"),
    "days_until_trial_end": ("double", "date_diff('second', $at, trial_ends_at) / 86400.0"),
}


class AudienceError(ValueError):
    pass


def mart_columns(path: Path = MART_YAML) -> dict[str, str]:
    """name -> data type from the mart's YAML contract."""
    spec = yaml.safe_load(path.read_text())
    model = next(m for m in spec["models"] if m["name"] == MART)
    return {c["name"]: c.get("data_type", "varchar") for c in model["columns"]}


def audience_columns(path: Path = MART_YAML) -> dict[str, str]:
    return {**mart_columns(path), **{name: kind for name, (kind, _) in DERIVED.items()}}


def check_audience(predicate: str, columns: dict[str, str] | frozenset[str]) -> None:
    """Raises AudienceError naming the missing column (or DuckDB's reason) if `predicate` does not bind."""
    types = columns if isinstance(columns, dict) else {c: "varchar" for c in columns}
    con = duckdb.connect()
    try:
        con.execute(f"create table {MART} ({', '.join(f'{_q(n)} {t}' for n, t in types.items())})")
        con.execute(f"select count(*) from {MART} where ({predicate})")
    except duckdb.BinderException as exc:
        missing = re.search(r'column "?([^"\s]+)"? not found', str(exc), re.IGNORECASE)
        if missing:
            raise AudienceError(f"column {missing.group(1)!r} is not in {MART}") from None
        raise AudienceError(_first_line(exc)) from None
    except duckdb.Error as exc:
        raise AudienceError(_first_line(exc)) from None
    finally:
        con.close()


# what the runner reads of each selected profile (the decision's inputs, the content's variables, the
# context message events carry); a predicate may use any column
RUNNER_COLUMNS = ("profile_id", "account_id", "device_id", "is_kids", "maturity_rating", "country", "timezone",
                  "language", "device_type", "os", "app_version", "plan", "consent_email", "consent_push",
                  "consent_in_app", "preferred_hour_local", "email_sends", "email_opens", "push_sends", "push_opens",
                  "in_app_sends", "in_app_opens")


def audience_sql(predicate: str, columns: tuple[str, ...] = RUNNER_COLUMNS, shard: tuple[int, int] | None = None
                 ) -> str:
    """The query selecting a campaign's audience (`columns` of it) over the mart and derived columns; takes $at.
    `shard` (k, n): only the profiles of shard k of n (`shard_sql`)."""
    derived = ", ".join(f"{sql} as {name}" for name, (_, sql) in DERIVED.items())
    where = f"({predicate})" + (f" and {shard_sql('profile_id', shard)}" if shard is not None else "")
    return (f"with base as (select *, {derived} from {MART}) "
            f"select {', '.join(_q(c) for c in columns)} from base where {where} order by profile_id")


def shard_sql(column: str, shard: tuple[int, int]) -> str:
    """Whether `column` (a profile id) falls in shard k of n: DuckDB's hash, the same in every process of a run
    (a sharded run only needs its workers to agree; nothing stores a shard)."""
    k, n = (int(v) for v in shard)
    if not 0 <= k < n:
        raise ValueError(f"shard {k} of {n}")
    return f"hash({column}) % {n} = {k}"


def in_shard(con: duckdb.DuckDBPyConnection, profile_ids, shard: tuple[int, int]) -> set[str]:
    """The ids among `profile_ids` that fall in the shard (same rule as the audience query)."""
    ids = list(dict.fromkeys(profile_ids))
    if not ids:
        return set()
    rows = con.execute(f"select p from unnest(?::varchar[]) t(p) where {shard_sql('p', shard)}", [ids]).fetchall()
    return {r[0] for r in rows}


def select_audience(con: duckdb.DuckDBPyConnection, predicate: str, at: datetime,
                    shard: tuple[int, int] | None = None) -> list[dict]:
    """Rows of the audience as dicts (the runner's per-profile input); of one shard when given."""
    cursor = con.execute(audience_sql(predicate, shard=shard), {"at": at.astimezone(UTC).replace(tzinfo=None)})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
