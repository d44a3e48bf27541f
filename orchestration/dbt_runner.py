"""dbt invoked in-process with the project's settings: the environment dbt's profiles.yml and vars read
(from settings), `run_dbt` for dbt commands outside the Dagster job (docs, unit tests, benchmarks), and a
failed node described in one line. The Dagster dbt asset and `streamloop build` both use it."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

from streamloop.core.errors import StreamloopError
from streamloop.core.lake import KINDS, Lake
from streamloop.core.progress import say
from streamloop.core.settings import DBT_PROJECT_DIR, get_settings

FAILED_STATUSES = ("error", "fail", "runtime error")  # a dbt node result's statuses that fail a build
# dbt vars of a build whose data tests read whole tables, not only the rows it changed (macros/changed_rows_tests.sql)
WHOLE_TABLE_TESTS_VARS = {"streamloop_tests_on_changed_rows": False}
GROUPED_TEST = "grouped_data_tests"  # the generic test running a model's other tests in one node (macros/grouped_data_tests.sql)
# singular tests recounting whole tables (dbt_project/tests/features/): only whole-table builds run them
WHOLE_TABLE_ONLY_TAG = "whole_table_only"


def build_test_selection(manifest: dict, grouped: bool) -> list[str]:
    """dbt `--exclude` arguments choosing how a build runs its data tests.

    grouped (a daily build, whose tests read the rows it changed): each model's groupable tests are left
    out and its `grouped_data_tests` node runs them in one query, one node per model instead of one per
    test (dbt's per-node cost was most of a daily build's test time), and the whole-table recounts tagged
    `whole_table_only` wait for a whole-table build. Otherwise (a full refresh, a whole-table build) the
    groups are left out and every test is its own node, as in the Dagster UI's asset checks.
    """
    if not grouped:
        return ["--exclude", f"test_name:{GROUPED_TEST}"]
    nodes = manifest["nodes"]
    # dbt selects by name, not unique id: a test's fully qualified name (project, folders, test name)
    grouped_names = sorted("fqn:" + ".".join(nodes[test_id]["fqn"]) for test_id in grouped_test_ids(manifest))
    # one space-separated value: how dagster-dbt's cli() reads a runtime --exclude (and dbt splits it)
    return ["--exclude", " ".join([f"tag:{WHOLE_TABLE_ONLY_TAG}", *grouped_names])]


def grouped_test_ids(manifest: dict) -> set[str]:
    """The generic data tests a model's group can run in its place: a test of that model whose other
    models (a relationships test's `to`) are its ancestors, so built before the group runs (the group
    waits for its model only), at error severity with dbt's default failure count and no `where`/`limit`
    of its own (the group applies neither), on a model that declares the group."""
    nodes, parents = manifest["nodes"], manifest.get("parent_map") or {}
    tests = [node for node in nodes.values() if node["resource_type"] == "test" and node.get("test_metadata")]
    with_group = {node["attached_node"] for node in tests if node["test_metadata"]["name"] == GROUPED_TEST}
    return {
        node["unique_id"] for node in tests
        if node["test_metadata"]["name"] != GROUPED_TEST
        and node.get("attached_node") in with_group
        and set(node["depends_on"]["nodes"]) - {node["attached_node"]} <= _ancestors(parents, node["attached_node"])
        and str(node["config"].get("severity", "error")).lower() == "error"
        and node["config"].get("fail_calc", "count(*)") == "count(*)"
        and not node["config"].get("where") and node["config"].get("limit") is None
    }


def dbt_environment(target: str | None = None) -> dict[str, str]:
    """The environment variables the dbt project reads, from settings (creates the home folder)."""
    settings = get_settings()
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    settings.warehouse_file.parent.mkdir(parents=True, exist_ok=True)
    return {
        "STREAMLOOP_LAKE_URI": settings.lake_root,
        "STREAMLOOP_LAKE_KINDS": lake_kinds_present(settings.lake_root),
        "STREAMLOOP_WAREHOUSE_PATH": str(settings.warehouse_file),
        "STREAMLOOP_THREADS": str(settings.threads),
        "STREAMLOOP_DBT_TARGET": target or settings.dbt_target,
        "STREAMLOOP_SPARK_WAREHOUSE_DIR": str(settings.spark_warehouse),
    }


def lake_kinds_present(lake_root: str) -> str:
    """The lake's kinds that hold files, comma-separated: Spark SQL cannot list a folder, so the
    project reads this to pick an empty relation for a kind without files (macros/lake.sql)."""
    lake = Lake(lake_root)
    # and the campaign runner's ledger snapshot (<lake>/messaging/ledger.parquet, macros/messaging.sql)
    return ",".join(kind for kind in (*KINDS, "messaging") if lake.files(kind))


@contextmanager
def environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _progress_callback(event) -> None:
    """One line per finished model, seed or failing test (dbt's own logging is silenced)."""
    name = event.info.name
    if name in ("LogModelResult", "LogSeedResult"):
        data = event.data
        say(f"  [{data.index}/{data.total}] {data.node_info.node_name}: {data.status} ({data.execution_time:.1f}s)")
    elif name == "LogTestResult" and event.data.status in ("fail", "warn", "error"):
        data = event.data
        say(f"  [{data.index}/{data.num_models}] test {data.name}: {data.status.upper()} ({data.num_failures} rows)")


def run_dbt(args: list[str], target: str | None = None):
    """Invokes dbt in-process with the project's settings; returns the dbtRunnerResult.

    Raises StreamloopError naming the failing node and its message when dbt fails.
    """
    from dbt.cli.main import dbtRunner

    settings = get_settings()
    env = dbt_environment(target)
    dbt_dir = settings.home_dir / "dbt"
    common = [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(dbt_dir / "target"),
        "--log-path", str(dbt_dir / "logs"),
        "--target", env["STREAMLOOP_DBT_TARGET"],
    ]
    words = 2 if args[0] in ("docs", "source") else 1  # `dbt docs generate`, `dbt source freshness`
    command, rest = " ".join(args[:words]), args[words:]
    with environment(env):
        try:
            result = dbtRunner(callbacks=[_progress_callback]).invoke(
                ["--quiet", "--no-use-colors", *command.split(), *common, *rest]
            )
        finally:
            _release_duckdb()
    if result.exception is not None:
        raise StreamloopError(f"dbt {command} failed: {_first_line(str(result.exception))}")
    if not result.success:
        raise StreamloopError(f"dbt {command} failed: {_describe_failure(result.result)}")
    return result


def _release_duckdb() -> None:
    """Closes the DuckDB instance dbt-duckdb keeps open in this process after a run.

    Without this the warehouse file stays locked until the process exits, so neither this process
    (with another configuration, e.g. read-only) nor any other could open it.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (spark): nothing held
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _first_line(text: str) -> str:
    """dbt's multi-line error text as one line."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip()) or "unknown error"


def _describe_failure(run_result) -> str:
    for node_result in getattr(run_result, "results", None) or []:
        status = str(node_result.status)
        if status in FAILED_STATUSES:
            node = node_result.node.to_dict()
            return describe_node(node, node_result.message or status, node.get("compiled_code"))
    return "see the dbt log for details"


def describe_node(node: dict, message: str, compiled_sql: str | None = None) -> str:
    """A failed node in words. A data test names its test, model and column, how many rows broke it,
    and a hint where to look: 'data test unique on rejected_events (column record_key): 2 failing rows.
    Hint: …'. A model's grouped test names its failing tests (from its query, `compiled_sql`, rerun).
    Any other node: its type, name and the first line of the database's words. `node` is the
    node as manifest.json holds it (dbt's in-process results give the same through `to_dict()`)."""
    if node.get("resource_type") != "test":
        return node_failure(node.get("resource_type", "node"), node.get("name", "?"), message)
    metadata = node.get("test_metadata") or {}
    if metadata.get("name") == GROUPED_TEST:
        return _describe_group(node, message, compiled_sql)
    kwargs = metadata.get("kwargs") or {}
    test = metadata.get("name") or node.get("name", "?")
    model = (node.get("attached_node") or "").split(".")[-1] or _first_ref(node)
    column = node.get("column_name") or kwargs.get("column_name")
    rows = re.search(r"Got (\d+) results?", message or "")
    outcome = (f"{rows.group(1)} failing row{'s' if rows.group(1) != '1' else ''}" if rows
               else _first_line(message or "failed"))
    subject = f"data test {test}" + (f" on {model}" if model else "") + (f" (column {column})" if column else "")
    return f"{subject}: {outcome}. Hint: {_hint(test if metadata else None, model, column, kwargs, node)}"


def _ancestors(parents: dict[str, list[str]], unique_id: str) -> set[str]:
    found, todo = set(), list(parents.get(unique_id, []))
    while todo:
        parent = todo.pop()
        if parent not in found:
            found.add(parent)
            todo.extend(parents.get(parent, []))
    return found


def _describe_group(node: dict, message: str, compiled_sql: str | None) -> str:
    """'data tests of events (the rows this build changed): not_null_events_event_id 3 failing rows. Hint: …'"""
    model = (node.get("attached_node") or "").split(".")[-1] or _first_ref(node) or "?"
    failing = _failing_group_members(node, compiled_sql)
    if failing:
        outcome = ", ".join(f"{name} {rows} failing row{'s' if rows != 1 else ''}" for name, rows in failing)
    else:
        rows = re.search(r"Got (\d+) results?", message or "")
        outcome = f"{rows.group(1)} failing rows" if rows else _first_line(message or "failed")
    return (f"data tests of {model} (the rows this build changed): {outcome}. Hint: each test alone, on the "
            f"whole table: dbt test --select {model} (or streamloop build --whole-table-tests)")


def _failing_group_members(node: dict, compiled_sql: str | None) -> list[tuple[str, int]]:
    """The failing tests of a grouped test, from its query rerun on the DuckDB warehouse (it returns one
    row per failing test); empty when that cannot be done (another engine, no query, an error)."""
    settings = get_settings()
    if not compiled_sql or settings.dbt_target != "duckdb" or not settings.warehouse_file.exists():
        return []
    import duckdb

    try:
        with duckdb.connect() as con:
            database = node.get("database") or settings.warehouse_file.stem
            con.execute(f"attach '{settings.warehouse_file}' as \"{database}\" (read_only)")
            rows = con.execute(f"select data_test, failing_rows from ({compiled_sql}) order by data_test").fetchall()
    except duckdb.Error:
        return []
    return [(name, int(failing)) for name, failing in rows]


def _first_ref(node: dict) -> str | None:
    refs = node.get("refs") or []
    first = refs[0] if refs else None
    return first.get("name") if isinstance(first, dict) else (first[0] if first else None)


def _hint(test: str | None, model: str | None, column: str | None, kwargs: dict, node: dict) -> str:
    """Where to look next, for the tests this project uses (anything else: the test's own SQL)."""
    if test == "unique":
        return (f"some {column} values appear more than once (a record landed or modelled twice); list them "
                f"with: select {column}, count(*) from {model} group by 1 having count(*) > 1")
    if test == "not_null":
        return f"select * from {model} where {column} is null"
    if test == "accepted_values":
        return f"{column} holds values outside {kwargs.get('values')}: select {column}, count(*) from {model} group by 1"
    if test == "relationships":
        target = str(kwargs.get("to", "")).replace("ref('", "").replace("')", "")
        return f"some {column} values have no match in {target}.{kwargs.get('field')}"
    path = node.get("original_file_path") or "the test's SQL"
    return f"the rows {path} returns are the problems; rerun it with `dbt test --select {node.get('name')}`"


def node_failure(resource_type: str, name: str, message: str) -> str:
    """'model stg_lake__events: IO Error: …': the node and the first line of the database's words."""
    # dbt's message starts "<Kind> Error in model x (path)"; the database's words follow
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and re.match(r"^[\w ]*Error in \w+ ", lines[0]):
        lines = lines[1:]
    return f"{resource_type} {name}: {lines[0] if lines else 'failed'}"
