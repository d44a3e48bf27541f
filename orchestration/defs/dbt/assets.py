"""The whole dbt project (staging → intermediate → marts → features) as Dagster assets.

One `dbt build` per run: models materialize and their tests run as asset checks, in dbt's own
order. Runs are incremental (the models find new lake records themselves); a run configured with
`full_refresh: true` rebuilds every incremental model from the whole lake. Data tests on incremental
models read only the rows the run changed, and each model's tests run as one grouped check
(`grouped_data_tests`), unless the run is a full refresh or is configured with `whole_table_tests: true`
(the nightly schedule): then every test reads its whole table and is its own check. `streamloop build`
runs this same asset through the `warehouse_build` job.
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_runner import WHOLE_TABLE_TESTS_VARS, build_test_selection
from orchestration.defs.dbt.environment import dbt_environment
from orchestration.defs.dbt.failures import describe_failure
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.dbt.translator import StreamloopDbtTranslator
from orchestration.defs.resources import WAREHOUSE_POOL, LakeResource, StreamloopDbtCliResource, WarehouseResource
from streamloop.core.privacy import rebuild as privacy_rebuild
from streamloop.core.settings import get_settings


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    """Rebuild every incremental model from the whole lake instead of only what is new."""
    whole_table_tests: bool = False
    """Data tests read whole tables; otherwise those on incremental models read the rows this build changed."""
    target: str = ""
    """dbt target (profiles.yml) for this run; empty: the resource's (settings.dbt_target)."""


# unit tests check the SQL's logic in CI (tests/); a production build runs models and data tests
@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, exclude="resource_type:unit_test",
            dagster_dbt_translator=StreamloopDbtTranslator(), name="warehouse_models", pool=WAREHOUSE_POOL)
def warehouse_models(context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource,
                     lake: LakeResource, warehouse: WarehouseResource):
    # a privacy deletion since the last build: aggregates must be recounted from the cleaned lake
    full_refresh = config.full_refresh or privacy_rebuild.full_refresh_needed(get_settings())
    if full_refresh and not config.full_refresh:
        context.log.info("a privacy deletion happened since the last build: rebuilding in full")
    args = ["build", "--full-refresh"] if full_refresh else ["build"]
    if config.whole_table_tests:
        args += ["--vars", json.dumps(WHOLE_TABLE_TESTS_VARS)]
    # a daily build's tests read the rows it changed: one grouped test node per model runs them
    args += build_test_selection(json.loads(dbt_project.manifest_path.read_text()),
                                 grouped=not (full_refresh or config.whole_table_tests))
    if config.target and config.target != dbt.target:  # the resource puts its --target last: rebind it
        dbt = StreamloopDbtCliResource(project_dir=dbt_project, target=config.target,
                                       dbt_executable=dbt.dbt_executable)
    # one artifacts folder, reused: dbt's partial parsing then skips re-parsing an unchanged project
    target_path = get_settings().home_dir / "dbt" / "build-target"
    (target_path / "run_results.json").unlink(missing_ok=True)  # a failure is read from this run's results only
    with dbt_environment(lake_root=lake.root, warehouse_path=warehouse.path, target=dbt.target):
        invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target_path)
        yield from invocation.stream()
    if not invocation.is_successful():
        reason = f"dbt build failed: {describe_failure(invocation)}"
        context.log.error(reason)  # the run's log says it in words too, not only the step's failure
        raise dg.Failure(description=reason)
    if full_refresh:
        privacy_rebuild.clear(get_settings())
