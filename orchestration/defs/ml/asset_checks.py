"""Blocking quality gates (ml.gates): a failed check stops its model's promotion in the same run.

Each check judges the candidate version against absolute floors, its same-run baselines and the
current production version, and records the verdict in the registry (`streamloop models` shows it).
"""
import dagster as dg

from ml.registry import ModelRef
from orchestration.defs.ml.assets import churn_model, ltv_model, recommender_model
from orchestration.defs.ml.registration import gate_check_result
from orchestration.defs.resources import RegistryResource


@dg.asset_check(asset=churn_model, blocking=True, description="AUC floor, Brier vs the logistic baseline, "
                                                              "no regression vs production")
def check_churn_model_quality(churn_model: ModelRef, registry: RegistryResource) -> dg.AssetCheckResult:
    return gate_check_result(registry.get(), churn_model)


@dg.asset_check(asset=ltv_model, blocking=True, description="Gini floor, MAE vs the price × expected-months "
                                                            "baseline, no regression vs production")
def check_ltv_model_quality(ltv_model: ModelRef, registry: RegistryResource) -> dg.AssetCheckResult:
    return gate_check_result(registry.get(), ltv_model)


@dg.asset_check(asset=recommender_model, blocking=True, description="NDCG@10 vs the best candidate generator, "
                                                                    "no regression vs production")
def check_recommender_model_quality(recommender_model: ModelRef, registry: RegistryResource) -> dg.AssetCheckResult:
    return gate_check_result(registry.get(), recommender_model)
