"""A failing dbt node reads in words (issue #9: a uniqueness failure used to read "test 0628cca412: Got 1
result"). Nodes are taken from the project's own manifest, as the Dagster asset and the CLI see them."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from orchestration.dbt_runner import describe_node
from orchestration.defs.dbt.failures import describe_failure
from orchestration.defs.dbt.project import dbt_project


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


def node_of(manifest, prefix: str) -> tuple[str, dict]:
    return next((uid, node) for uid, node in manifest["nodes"].items() if uid.startswith(prefix))


def test_a_failing_uniqueness_test_names_model_column_and_a_query_to_find_the_rows(manifest):
    _, node = node_of(manifest, "test.streamloop.unique_rejected_events_lake_kind_record_key.")
    text = describe_node(node, "Got 1 result, configured to fail if != 0")
    assert text.startswith("data test unique on rejected_events (column lake_kind || '/' || record_key): "
                           "1 failing row. Hint: ")
    assert "select lake_kind || '/' || record_key, count(*) from rejected_events group by 1 having count(*) > 1" in text


def test_a_singular_test_names_itself_its_model_and_its_sql(manifest):
    _, node = node_of(manifest, "test.streamloop.assert_reconciliation_balances")
    text = describe_node(node, "Got 3 results, configured to fail if != 0")
    assert text.startswith("data test assert_reconciliation_balances on ingestion_reconciliation: 3 failing rows.")
    assert "tests/warehouse/assert_reconciliation_balances.sql" in text


def test_a_failing_model_keeps_the_database_words(manifest):
    _, node = node_of(manifest, "model.streamloop.stg_lake__events")
    text = describe_node(node, "Runtime Error in model stg_lake__events (models/x.sql)\n  IO Error: No files found")
    assert text == "model stg_lake__events: IO Error: No files found"


def test_the_dagster_path_reads_the_manifest_and_falls_back_to_the_test_name(manifest, tmp_path):
    uid, _ = node_of(manifest, "test.streamloop.unique_rejected_events_lake_kind_record_key.")
    results = {"results": [{"unique_id": uid, "status": "fail", "message": "Got 2 results, configured to fail if != 0"}]}

    def artifacts(with_manifest: bool):
        def get(name):
            if name == "run_results.json":
                return results
            if with_manifest:
                return manifest
            raise OSError("no manifest")
        return SimpleNamespace(get_artifact=get, get_error=lambda: None)

    assert describe_failure(artifacts(True)).startswith(
        "data test unique on rejected_events (column lake_kind || '/' || record_key): 2 failing rows. Hint:")
    # without a manifest the words come from the id: the test's name, never its hash
    assert describe_failure(artifacts(False)).startswith(
        "data test unique_rejected_events_lake_kind_record_key: 2 failing rows.")
