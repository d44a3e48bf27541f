"""Models as assets: training sets from the dbt feature tables, every candidate a run evaluates
(the learned model and its baselines) registered, and the `production` version they become only after
their blocking quality check passes.

Lineage: account_features → churn_training_set → churn_model ─(check_churn_model_quality)→
production_churn_model, likewise for LTV; plays/events/titles → recommender_model → … . Every training
set leaves out the profiles that declined personalization (profile_consents, read by ml.consent; for
churn/LTV, accounts none of whose profiles allows it: docs/privacy.md). Which models
exist, their modules, configuration and asset names come from the one table, ml.models. All ML logic
is in the `ml` library; these functions only load, call and describe.

A model whose training data is absent or too small (NoTrainingData, InsufficientData: e.g. churn on a
MovieLens import, or fewer matured snapshots than settings.min_training_rows) is skipped with its
reason logged and observed (orchestration.defs.skips): its asset is not materialized and its
downstream steps are skipped, as `streamloop train` skips it.

Training libraries (xgboost, scikit-learn) are imported inside the asset bodies: the code server
loads this module for every UI page, sensor tick and schedule, none of which trains anything.
"""
from dataclasses import replace
from importlib import import_module

import dagster as dg
import pandas as pd

from ml.errors import NoTrainingData
from ml.models import MODELS, ModelSpec
from orchestration.defs.ml.registration import RegisteredCandidates, promote_candidate, register_candidates
from orchestration.defs.resources import WAREHOUSE_POOL, RegistryResource, WarehouseResource
from orchestration.defs.skips import skipped
from streamloop.core.settings import get_settings

GROUP = "models"


def _configured(spec: ModelSpec):
    """The model's default configuration with this deployment's threads and minimum sizes."""
    settings = get_settings()
    config = getattr(import_module("ml.config"), spec.config)()
    sizes = {"min_rows": settings.min_training_rows} if hasattr(config, "min_rows") else {
        "min_profiles": settings.min_training_profiles}
    return replace(config, nthread=settings.threads, **sizes)


def _training_set_metadata(frame: pd.DataFrame, label: str) -> dict:
    return {
        "dagster/row_count": len(frame),
        "accounts": int(frame["account_id"].nunique()),
        "snapshots": dg.MetadataValue.json(sorted(str(d) for d in frame["snapshot_date"].unique())),
        f"mean_{label}": float(frame[label].astype(float).mean()),
    }


def _production_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(name=spec.production_asset, group_name=GROUP, kinds={"xgboost"},
              ins={"candidates": dg.AssetIn(spec.candidates_asset)},
              description=f"The {spec.name} version scoring uses: the candidate chosen among this run's learned "
                          f"model and baselines, promoted after {spec.check_name} passed.")
    def production(candidates: RegisteredCandidates, registry: RegistryResource) -> dg.MaterializeResult:
        return promote_candidate(registry.get(), candidates)

    return production


# -- churn and lifetime value: the same three assets over account snapshots -------------------------

def account_model_assets(spec: ModelSpec) -> tuple[dg.AssetsDefinition, ...]:
    """`<name>_training_set` → `<name>_model` → `production_<name>_model` for the model of module
    `spec.module` (TABLE, LABEL, matured_rows, train_<name>) with configuration `ml.config.<spec.config>`."""

    @dg.asset(name=spec.training_set_asset, group_name=GROUP, deps=["account_features", "profiles", "profile_consents"],
              output_required=False,
              kinds={"pandas"}, pool=WAREHOUSE_POOL,
              description=f"Account snapshots whose {spec.label} label has matured ({spec.module}.matured_rows), "
                          f"without accounts none of whose profiles allows personalization (ml.consent).")
    def training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        from ml.account_models import read_account_snapshots

        module = import_module(spec.module)
        try:
            with warehouse.connect() as con:
                rows = module.matured_rows(read_account_snapshots(con))
        except NoTrainingData as reason:
            yield skipped(context, reason)
            return
        yield dg.Output(rows, metadata=_training_set_metadata(rows, module.LABEL))

    @dg.asset(name=spec.candidates_asset, group_name=GROUP, kinds={"xgboost"}, output_required=False,
              ins={"rows": dg.AssetIn(spec.training_set_asset)},
              description=f"This run's {spec.label} candidates — the learned model and its baselines — each "
                          f"registered as a version, with the one that should serve chosen (not yet production).")
    def model(context: dg.AssetExecutionContext, rows: pd.DataFrame, registry: RegistryResource,
              warehouse: WarehouseResource):
        try:
            result = getattr(import_module(spec.module), f"train_{spec.name}")(rows, _configured(spec))
        except NoTrainingData as reason:  # too small to train honestly: a skip with its reason
            yield skipped(context, reason)
            return
        yield register_candidates(registry.get(), result, data_source=warehouse.path)

    return training_set, model, _production_asset(spec)


churn_training_set, churn_model, production_churn_model = account_model_assets(MODELS["churn"])
ltv_training_set, ltv_model, production_ltv_model = account_model_assets(MODELS["ltv"])


# -- recommender -------------------------------------------------------------------------------------

@dg.asset(group_name=GROUP, deps=["plays", "events", "titles", "profile_consents"], output_required=False, kinds={"xgboost"},
          pool=WAREHOUSE_POOL)
def recommender_model(context: dg.AssetExecutionContext, registry: RegistryResource,
                      warehouse: WarehouseResource):
    """This run's recommender candidates — candidate generators + XGBoost re-ranker, and each baseline
    generator alone — with their batch outputs, each registered as a version, the one to serve chosen."""
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from ml.recommend.pipeline import train_recommender

    try:
        with warehouse.connect() as con:
            interactions, titles = load_interactions(con), load_titles(con)
        result = train_recommender(interactions, titles, _configured(MODELS["recommender"]),
                                   progress=context.log.info)
    except NoTrainingData as reason:
        yield skipped(context, reason)
        return
    yield register_candidates(registry.get(), result, data_source=warehouse.path)


production_recommender_model = _production_asset(MODELS["recommender"])
