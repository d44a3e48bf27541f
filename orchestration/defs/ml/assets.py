"""Models as assets: training sets from the dbt feature tables, trained and registered candidates,
and the `production` versions they become only after their blocking quality check passes.

Lineage: account_features → churn_training_set → churn_model ─(check_churn_model_quality)→
production_churn_model, likewise for LTV; plays/events/titles → recommender_model → … .
All ML logic is in the `ml` library; these functions only load, call and describe.

A model whose training data is absent (NoTrainingData, e.g. churn on a MovieLens import with no
subscriptions) is skipped with its reason logged and observed (orchestration.defs.skips): its asset
is not materialized and its downstream steps are skipped, as `streamloop train` skips it.

Training libraries (xgboost, scikit-learn) are imported inside the asset bodies: the code server
loads this module for every UI page, sensor tick and schedule, none of which trains anything.
"""
from dataclasses import replace
from importlib import import_module

import dagster as dg
import pandas as pd

from ml.errors import NoTrainingData
from ml.features import read_table
from ml.registry import ModelRef
from orchestration.defs.ml.registration import promote_candidate, register_model
from orchestration.defs.resources import WAREHOUSE_POOL, RegistryResource, WarehouseResource
from orchestration.defs.skips import skipped
from streamloop.core.settings import get_settings

GROUP = "models"


def _training_set_metadata(frame: pd.DataFrame, label: str) -> dict:
    return {
        "dagster/row_count": len(frame),
        "accounts": int(frame["account_id"].nunique()),
        "snapshots": dg.MetadataValue.json(sorted(str(d) for d in frame["snapshot_date"].unique())),
        f"mean_{label}": float(frame[label].astype(float).mean()),
    }


# -- churn and lifetime value: the same three assets over account snapshots -------------------------

def account_model_assets(name: str, *, config: str, label: str, trains: str) -> tuple[dg.AssetsDefinition, ...]:
    """`<name>_training_set` → `<name>_model` → `production_<name>_model` for the model of module
    `ml.<name>` (TABLE, LABEL, matured_rows, train_<name>) with default configuration `ml.config.<config>`."""

    @dg.asset(name=f"{name}_training_set", group_name=GROUP, deps=["account_features"], output_required=False,
              kinds={"pandas"}, pool=WAREHOUSE_POOL,
              description=f"Account snapshots whose {label} label has matured (ml.{name}.matured_rows).")
    def training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        module = import_module(f"ml.{name}")
        try:
            with warehouse.connect() as con:
                rows = module.matured_rows(read_table(con, module.TABLE))
        except NoTrainingData as reason:
            yield skipped(context, reason)
            return
        yield dg.Output(rows, metadata=_training_set_metadata(rows, module.LABEL))

    @dg.asset(name=f"{name}_model", group_name=GROUP, kinds={"xgboost"}, ins={"rows": dg.AssetIn(f"{name}_training_set")},
              description=f"A newly trained {trains}, registered as the next version (not yet production).")
    def model(rows: pd.DataFrame, registry: RegistryResource, warehouse: WarehouseResource) -> dg.Output[ModelRef]:
        module, config_class = import_module(f"ml.{name}"), getattr(import_module("ml.config"), config)
        configured = replace(config_class(), nthread=get_settings().threads)
        result = getattr(module, f"train_{name}")(rows, configured)
        return register_model(registry.get(), result, data_source=warehouse.path)

    @dg.asset(name=f"production_{name}_model", group_name=GROUP, kinds={"xgboost"},
              ins={"candidate": dg.AssetIn(f"{name}_model")},
              description=f"The {name} version scoring uses: the candidate, promoted after "
                          f"check_{name}_model_quality passed.")
    def production(candidate: ModelRef, registry: RegistryResource) -> dg.MaterializeResult:
        return promote_candidate(registry.get(), candidate)

    return training_set, model, production


churn_training_set, churn_model, production_churn_model = account_model_assets(
    "churn", config="ChurnConfig", label="30-day churn", trains="calibrated churn classifier")
ltv_training_set, ltv_model, production_ltv_model = account_model_assets(
    "ltv", config="LtvConfig", label="90-day revenue", trains="90-day revenue regressor")


# -- recommender -------------------------------------------------------------------------------------

@dg.asset(group_name=GROUP, deps=["plays", "events", "titles"], output_required=False, kinds={"xgboost"},
          pool=WAREHOUSE_POOL)
def recommender_model(context: dg.AssetExecutionContext, registry: RegistryResource,
                      warehouse: WarehouseResource):
    """Candidate generators + XGBoost re-ranker with their batch outputs, registered as the next version."""
    from ml.config import RecommenderConfig
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from ml.recommend.pipeline import train_recommender

    config = replace(RecommenderConfig(), nthread=get_settings().threads)
    try:
        with warehouse.connect() as con:
            interactions, titles = load_interactions(con), load_titles(con)
        result = train_recommender(interactions, titles, config, progress=context.log.info)
    except NoTrainingData as reason:
        yield skipped(context, reason)
        return
    yield register_model(registry.get(), result, data_source=warehouse.path)


@dg.asset(group_name=GROUP, kinds={"xgboost"})
def production_recommender_model(recommender_model: ModelRef, registry: RegistryResource) -> dg.MaterializeResult:
    """The recommender version serving uses: promoted after check_recommender_model_quality passed."""
    return promote_candidate(registry.get(), recommender_model)
