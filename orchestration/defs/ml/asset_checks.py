"""Blocking quality gates (ml.gates): a failed check stops its model's promotion in the same run.

Each check judges the candidate this run chose among its learned model and baselines against the
current production version, and records every candidate's verdict in the registry (`streamloop
models` shows them). It fails only when no candidate may serve, which keeps production unchanged.
"""
import dagster as dg

from orchestration.defs.ml.assets import churn_model, ltv_model, recommender_model
from orchestration.defs.ml.registration import RegisteredCandidates, gate_check_result
from orchestration.defs.resources import RegistryResource


@dg.asset_check(asset=churn_model, blocking=True, description="AUC floor; the learned model serves only if its AUC "
                "beats the logistic baseline beyond the bootstrap noise and its Brier is no worse; no regression")
def check_churn_model_quality(churn_model: RegisteredCandidates, registry: RegistryResource) -> dg.AssetCheckResult:
    return gate_check_result(registry.get(), churn_model)


@dg.asset_check(asset=ltv_model, blocking=True, description="Gini floor; the learned model serves only if its Gini "
                "beats price × expected months beyond the noise and its MAE is no worse; no regression")
def check_ltv_model_quality(ltv_model: RegisteredCandidates, registry: RegistryResource) -> dg.AssetCheckResult:
    return gate_check_result(registry.get(), ltv_model)


@dg.asset_check(asset=recommender_model, blocking=True, description="NDCG@10 of the learned ranker vs every baseline "
                "generator (paired bootstrap, a tie keeps the simpler one); no regression vs production")
def check_recommender_model_quality(recommender_model: RegisteredCandidates,
                                    registry: RegistryResource) -> dg.AssetCheckResult:
    return gate_check_result(registry.get(), recommender_model)
