"""A failed dbt invocation in one line that names the failing node and the database's words."""
from __future__ import annotations

import re

from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

_FAILED = ("error", "fail", "runtime error")


def describe_failure(invocation: DbtCliInvocation) -> str:
    """'model stg_lake__events: IO Error: …' from run_results.json; dbt's own error line when dbt
    stopped before running any node (a parse or connection error leaves no results)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except (OSError, KeyError, ValueError):
        results = []
    for result in results:
        if result.get("status") in _FAILED:
            resource_type, _, name = result["unique_id"].split(".", 2)
            return f"{resource_type} {name.split('.')[-1]}: {_reason(result.get('message') or result['status'])}"
    error = invocation.get_error()
    text = error.description if error is not None and error.description else "see the dbt log"
    return _reason(text.split("Errors parsed from dbt logs:")[-1])


def _reason(message: str) -> str:
    # dbt's message starts "<Kind> Error in model x (path)"; the database's words follow
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and re.match(r"^[\w ]*Error in \w+ ", lines[0]):
        lines = lines[1:]
    return lines[0] if lines else "unknown error"
