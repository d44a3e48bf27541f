"""Models as assets: training sets from the dbt feature tables, trained and registered candidates,
and the `production` versions they become only after their blocking quality check passes.

Lineage: account_features → churn_training_set → churn_model ─(check_churn_model_quality)→
production_churn_model, likewise for LTV; plays/events/titles → recommender_model → … .
All ML logic is in the `ml` library; these functions only load, call and describe.

A model whose training data is absent (NoTrainingData, e.g. churn on a MovieLens import with no
subscriptions) is skipped with its reason logged and observed (orchestration.defs.skips): its asset is not materialized and its
downstream steps are skipped, as `streamloop train` skips it.

Training libraries (xgboost, scikit-learn) are imported inside the asset bodies: the code server
loads this module for every UI page, sensor tick and schedule, none of which trains anything.
"""
from dataclasses import replace

import dagster as dg
import pandas as pd

from ml.errors import NoTrainingData
from ml.features import read_table
from ml.registry import ModelRef
from orchestration.defs.ml.registration import promote_candidate, register_model
from orchestration.defs.resources import WAREHOUSE_POOL, RegistryResource, WarehouseResource
from orchestration.defs.skips import skipped
from streamloop.settings import get_settings

GROUP = "models"


def _training_set_metadata(frame: pd.DataFrame, label: str) -> dict:
    return {
        "dagster/row_count": len(frame),
        "accounts": int(frame["account_id"].nunique()),
        "snapshots": dg.MetadataValue.json(sorted(str(d) for d in frame["snapshot_date"].unique())),
        f"mean_{label}": float(frame[label].astype(float).mean()),
    }


# -- churn --------------------------------------------------------------------------------------

@dg.asset(group_name=GROUP, deps=["account_features"], output_required=False, kinds={"pandas"}, pool=WAREHOUSE_POOL)
def churn_training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Account snapshots whose 30-day churn label has matured (ml.churn.matured_rows)."""
    from ml import churn

    try:
        with warehouse.connect() as con:
            rows = churn.matured_rows(read_table(con, churn.TABLE))
    except NoTrainingData as reason:
        yield skipped(context, reason)
        return
    yield dg.Output(rows, metadata=_training_set_metadata(rows, churn.LABEL))


@dg.asset(group_name=GROUP, kinds={"xgboost"})
def churn_model(churn_training_set: pd.DataFrame, registry: RegistryResource,
                warehouse: WarehouseResource) -> dg.Output[ModelRef]:
    """A newly trained, calibrated churn classifier, registered as the next version (not yet production)."""
    from ml import churn
    from ml.config import ChurnConfig

    config = replace(ChurnConfig(), nthread=get_settings().threads)  # as ml.training.fit_model
    return register_model(registry.get(), churn.train_churn(churn_training_set, config), data_source=warehouse.path)


@dg.asset(group_name=GROUP, kinds={"xgboost"})
def production_churn_model(churn_model: ModelRef, registry: RegistryResource) -> dg.MaterializeResult:
    """The churn version scoring uses: the candidate, promoted after check_churn_model_quality passed."""
    return promote_candidate(registry.get(), churn_model)


# -- lifetime value -------------------------------------------------------------------------------

@dg.asset(group_name=GROUP, deps=["account_features"], output_required=False, kinds={"pandas"}, pool=WAREHOUSE_POOL)
def ltv_training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Account snapshots whose 90-day revenue label has matured (ml.ltv.matured_rows)."""
    from ml import ltv

    try:
        with warehouse.connect() as con:
            rows = ltv.matured_rows(read_table(con, ltv.TABLE))
    except NoTrainingData as reason:
        yield skipped(context, reason)
        return
    yield dg.Output(rows, metadata=_training_set_metadata(rows, ltv.LABEL))


@dg.asset(group_name=GROUP, kinds={"xgboost"})
def ltv_model(ltv_training_set: pd.DataFrame, registry: RegistryResource,
              warehouse: WarehouseResource) -> dg.Output[ModelRef]:
    """A newly trained 90-day revenue regressor, registered as the next version (not yet production)."""
    from ml import ltv
    from ml.config import LtvConfig

    config = replace(LtvConfig(), nthread=get_settings().threads)  # as ml.training.fit_model
    return register_model(registry.get(), ltv.train_ltv(ltv_training_set, config), data_source=warehouse.path)


@dg.asset(group_name=GROUP, kinds={"xgboost"})
def production_ltv_model(ltv_model: ModelRef, registry: RegistryResource) -> dg.MaterializeResult:
    """The LTV version scoring uses: the candidate, promoted after check_ltv_model_quality passed."""
    return promote_candidate(registry.get(), ltv_model)


# -- recommender -------------------------------------------------------------------------------------

@dg.asset(group_name=GROUP, deps=["plays", "events", "titles"], output_required=False, kinds={"xgboost"},
          pool=WAREHOUSE_POOL)
def recommender_model(context: dg.AssetExecutionContext, registry: RegistryResource,
                      warehouse: WarehouseResource):
    """Candidate generators + XGBoost re-ranker with their batch outputs, registered as the next version."""
    from ml.training import fit_model

    try:
        with warehouse.connect() as con:
            result = fit_model("recommender", con, threads=get_settings().threads, progress=context.log.info)
    except NoTrainingData as reason:
        yield skipped(context, reason)
        return
    yield register_model(registry.get(), result, data_source=warehouse.path)


@dg.asset(group_name=GROUP, kinds={"xgboost"})
def production_recommender_model(recommender_model: ModelRef, registry: RegistryResource) -> dg.MaterializeResult:
    """The recommender version serving uses: promoted after check_recommender_model_quality passed."""
    return promote_candidate(registry.get(), recommender_model)
