"""A failed dbt invocation in one line that names the failing node and the database's words."""
from __future__ import annotations

from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from orchestration.dbt_runner import FAILED_STATUSES, node_failure


def describe_failure(invocation: DbtCliInvocation) -> str:
    """'model stg_lake__events: IO Error: …' from run_results.json; dbt's own error line when dbt
    stopped before running any node (a parse or connection error leaves no results)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except (OSError, KeyError, ValueError):
        results = []
    for result in results:
        if result.get("status") in FAILED_STATUSES:
            resource_type, _, name = result["unique_id"].split(".", 2)
            return node_failure(resource_type, name.split(".")[-1], result.get("message") or result["status"])
    error = invocation.get_error()
    text = error.description if error is not None and error.description else "see the dbt log"
    # dbt's own message ("Encountered an error:\nCould not find adapter type spark!") as one line
    lines = [line.strip() for line in text.split("Errors parsed from dbt logs:")[-1].splitlines() if line.strip()]
    return " ".join(lines)[:300] if lines else "see the dbt log"
