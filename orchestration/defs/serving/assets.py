"""What is served: batch scores and candidates from the `production` models, and the online store.

Every asset here reads the registry's `production` versions (never a candidate), so it is right to
run whether or not this day's training promoted anything. A missing production model (e.g. no
churn model on data without subscriptions) skips the assets that need it, with the reason logged.
The publication runs in its own job (see jobs.py) so it publishes whatever exists, as
`streamloop train` does.

Model and publishing code (xgboost, scikit-learn) is imported inside the asset bodies, so loading
the definitions (every UI page, sensor tick, schedule) stays light.
"""
import dagster as dg
import pandas as pd

from ml.features import read_table, table_exists
from orchestration.defs.ml.assets import production_churn_model, production_ltv_model, production_recommender_model
from orchestration.defs.resources import WAREHOUSE_POOL, OnlineStoreResource, RegistryResource, WarehouseResource
from orchestration.defs.skips import skipped

GROUP = "serving"


@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, output_required=False, kinds={"duckdb"},
          deps=[production_churn_model, production_ltv_model, "account_features"])
def account_scores(context: dg.AssetExecutionContext, registry: RegistryResource, warehouse: WarehouseResource):
    """Churn risk, predicted 90-day revenue and segment per account, latest snapshot (ml.scoring)."""
    from ml.churn import ChurnModel
    from ml.ltv import LtvModel
    from ml.scoring import score_accounts, write_table

    models = registry.get()
    churn_ref = models.production("churn")
    if churn_ref is None:
        yield skipped(context, "there is no production churn model")
        return
    churn = ChurnModel.from_artifacts(models.load_artifacts("churn")[1])
    ltv_ref = models.production("ltv")
    ltv = LtvModel.from_artifacts(models.load_artifacts("ltv")[1]) if ltv_ref else None
    versions = {"churn": churn_ref.model_version} | ({"ltv": ltv_ref.model_version} if ltv_ref else {})
    with warehouse.connect(read_only=False) as con:
        scores = score_accounts(read_table(con, "account_features"), churn, ltv, versions)
        rows = write_table(con, "account_scores", scores)
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": rows, **{f"{name}_model_version": v for name, v in versions.items()},
        "segments": dg.MetadataValue.json(scores["segment"].value_counts().to_dict()),
        "mean_churn_risk": float(scores["churn_risk"].mean()),
    })


@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"},
          deps=[account_scores, "profiles", "profile_features"])
def profile_scores(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each profile with its account's churn risk and segment, and an activity bucket (ml.scoring)."""
    from ml.scoring import score_profiles, write_table

    with warehouse.connect(read_only=False) as con:
        scores = score_profiles(con, read_table(con, "account_scores"))
        rows = write_table(con, "profile_scores", scores)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "activity_buckets": dg.MetadataValue.json(scores["activity_bucket"].value_counts().to_dict()),
    })


@dg.multi_asset(
    specs=[
        dg.AssetSpec("recommendation_candidates", group_name=GROUP, skippable=True, kinds={"duckdb"},
                     deps=[production_recommender_model],
                     description="Ranked candidates per profile from the production recommender, before "
                                 "business filters (country, maturity) applied at request time."),
        dg.AssetSpec("similar_titles", group_name=GROUP, skippable=True, kinds={"duckdb"},
                     deps=[production_recommender_model],
                     description="Most similar titles per title from the production recommender."),
    ],
    pool=WAREHOUSE_POOL,
)
def recommender_outputs(context: dg.AssetExecutionContext, registry: RegistryResource,
                        warehouse: WarehouseResource):
    from ml.publish import ModelIdentity
    from ml.recommend.pipeline import Recommender
    from ml.scoring import write_table

    models = registry.get()
    ref = models.production("recommender")
    if ref is None:
        for key in context.selected_asset_keys:
            yield skipped(context, "there is no production recommender", asset_key=key)
        return
    recommender = Recommender.from_artifacts(models.load_artifacts("recommender")[1])
    with warehouse.connect(read_only=False) as con:
        for key, frame in (("recommendation_candidates", recommender.candidates),
                           ("similar_titles", recommender.similar)):
            model = ModelIdentity.of(ref)
            rows = write_table(con, key, frame.assign(model_version=model.model_version,
                                                      model_kind=model.model_kind, model_name=model.model_name))
            yield dg.MaterializeResult(asset_key=key, metadata={
                "dagster/row_count": rows, "model_version": ref.model_version})


@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, output_required=False, kinds={"sqlite", "dynamodb"},
          deps=[profile_scores, "recommendation_candidates", "similar_titles", "profiles", "titles", "plays",
                "profile_features", "title_features"])
def online_store_publication(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                             online_store: OnlineStoreResource):
    """Profiles (with what each finished), titles, the warehouse's popularity lists and the production
    recommender's candidates and similar titles, written to the online store as one generation and made
    visible by one pointer flip (ml.publish). Uses whichever scores and candidates exist."""
    from ml.publish import ModelIdentity, publish_all

    with warehouse.connect() as con:
        if not table_exists(con, "profiles") or not table_exists(con, "titles"):
            yield skipped(context, "the warehouse has no profiles or titles; run `streamloop build` first")
            return
        candidates = _optional_table(con, "recommendation_candidates")
        similar = _optional_table(con, "similar_titles")
        model = None
        if candidates is not None and len(candidates):
            first = candidates.iloc[0]
            model = ModelIdentity(str(first["model_version"]), str(first.get("model_kind") or "learned"),
                                  str(first.get("model_name") or "recommender"))
        else:
            candidates = similar = None
        store = online_store.get()
        try:
            written = publish_all(store, con, model, candidates, similar)
        finally:
            store.close()
    yield dg.MaterializeResult(metadata={
        "keys_written": dg.MetadataValue.json(written),
        "recommender_version": dg.MetadataValue.text(model.model_version if model else "none"),
        "recommender_kind": dg.MetadataValue.text(model.model_kind if model else "none"),
    })


def _optional_table(con, table: str) -> pd.DataFrame | None:
    return read_table(con, table) if table_exists(con, table) else None
