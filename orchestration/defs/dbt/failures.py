"""A failed dbt invocation in one line that names the failing node in words (a data test: its test,
model and column, with a hint) and the database's words."""
from __future__ import annotations

from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from orchestration.dbt_runner import FAILED_STATUSES, describe_node


def describe_failure(invocation: DbtCliInvocation) -> str:
    """'data test unique on rejected_events (column record_key): 1 failing row. Hint: …' or 'model
    stg_lake__events: IO Error: …' from run_results.json and the manifest; dbt's own error line when
    dbt stopped before running any node (a parse or connection error leaves no results)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except (OSError, KeyError, ValueError):
        results = []
    for result in results:
        if result.get("status") in FAILED_STATUSES:
            return describe_node(_manifest_node(invocation, result["unique_id"]),
                                 result.get("message") or result["status"], result.get("compiled_code"))
    error = invocation.get_error()
    text = error.description if error is not None and error.description else "see the dbt log"
    # dbt's own message ("Encountered an error:\nCould not find adapter type spark!") as one line
    lines = [line.strip() for line in text.split("Errors parsed from dbt logs:")[-1].splitlines() if line.strip()]
    return " ".join(lines)[:300] if lines else "see the dbt log"


def _manifest_node(invocation: DbtCliInvocation, unique_id: str) -> dict:
    """The node from this run's manifest; from its unique id alone when the manifest cannot be read."""
    try:
        node = invocation.get_artifact("manifest.json")["nodes"].get(unique_id)
    except (OSError, KeyError, ValueError):
        node = None
    if node is not None:
        return node
    resource_type, _, rest = unique_id.split(".", 2)
    parts = rest.split(".")
    # tests' ids end in a hash ("test.project.unique_x.0628cca412"): the name is the part before it
    return {"resource_type": resource_type, "name": parts[-2] if resource_type == "test" and len(parts) >= 2
            else parts[-1]}
