"""Model registry (local folder and S3 via moto) and the quality gate."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from ml.errors import CorruptArtifact, RegistryError
from ml.gates import evaluate_gate
from ml.registry import LocalStorage, ModelRegistry, registry_for, render_listing
from ml.results import TrainingResult


def fake_result(auc: float, brier: float = 0.1, payload: bytes = b"booster-bytes") -> TrainingResult:
    return TrainingResult(
        name="churn", model=None, artifacts={"model.ubj": payload, "model.json": b"{}"},
        metrics={"auc": auc, "brier": brier}, baseline_metrics={"logistic_recency_frequency": {"auc": 0.6, "brier": 0.12}},
        features=["a", "b"], feature_hash="abc", data_window={"train_from": "2026-01-01"},
    )


def gate_for(registry: ModelRegistry, result: TrainingResult):
    production = registry.production(result.name)
    return evaluate_gate(result.name, result.metrics, production.metrics if production else None)


def register_and_maybe_promote(registry: ModelRegistry, result: TrainingResult):
    ref = registry.register(result)
    gate = gate_for(registry, result)
    registry.record_gate(result.name, ref.version, gate)
    if gate.passed:
        registry.promote(result.name, ref.version, gate)
    return ref, gate


@pytest.fixture
def registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(LocalStorage(tmp_path / "registry"))


def test_register_writes_versioned_artifacts_and_metadata(registry, tmp_path):
    first = registry.register(fake_result(0.7))
    second = registry.register(fake_result(0.72))
    assert (first.version, second.version) == (1, 2)
    meta = json.loads((tmp_path / "registry" / "churn" / "v2" / "metadata.json").read_text())
    assert meta["metrics"]["auc"] == 0.72
    assert set(meta["artifacts"]) == {"model.ubj", "model.json"}
    for key in ("created_at", "data_window", "features", "feature_hash", "baseline_metrics", "code_version"):
        assert meta[key]


def test_gate_promotes_a_better_model_and_blocks_a_worse_one(registry):
    good, gate = register_and_maybe_promote(registry, fake_result(0.75))
    assert gate.passed and registry.aliases("churn") == {"production": good.version}
    _, gate = register_and_maybe_promote(registry, fake_result(0.70))
    assert not gate.passed
    assert any("vs production" in r for r in gate.reasons)
    assert registry.production("churn").version == good.version
    better, gate = register_and_maybe_promote(registry, fake_result(0.78, brier=0.09))
    assert gate.passed and registry.production("churn").version == better.version


def test_gate_without_production_passes_and_a_missing_metric_fails_the_regression_check():
    assert evaluate_gate("churn", {"auc": 0.7, "brier": 0.1}, None).passed
    gate = evaluate_gate("churn", {"brier": 0.1}, {"auc": 0.7, "brier": 0.1},
                         undefined={"auc": "test labels have a single class"})
    assert not gate.passed and gate.reasons == ["auc was not computed (test labels have a single class)"]


def test_promotion_without_a_passing_gate_is_refused(registry):
    register_and_maybe_promote(registry, fake_result(0.75))
    ref = registry.register(fake_result(0.5))
    gate = gate_for(registry, fake_result(0.5))
    with pytest.raises(RegistryError, match="not promoted"):
        registry.promote("churn", ref.version, gate)
    assert registry.production("churn").version == 1


def test_rollback_moves_production_to_the_previous_version(registry):
    v1, _ = register_and_maybe_promote(registry, fake_result(0.75))
    v2, _ = register_and_maybe_promote(registry, fake_result(0.80, brier=0.09))
    assert registry.production("churn").version == v2.version
    assert registry.rollback("churn").version == v1.version
    assert registry.production("churn").version == v1.version
    with pytest.raises(RegistryError, match="no earlier production"):
        registry.rollback("churn")


def test_corrupt_artifact_is_detected(registry, tmp_path):
    ref = registry.register(fake_result(0.75))
    _, artifacts = registry.load_artifacts("churn", ref.version)
    assert artifacts["model.ubj"] == b"booster-bytes"
    (tmp_path / "registry" / "churn" / f"v{ref.version}" / "model.ubj").write_bytes(b"tampered")
    with pytest.raises(CorruptArtifact, match="corrupt"):
        registry.load_artifacts("churn", ref.version)


def test_describe_is_json_and_renders(registry):
    register_and_maybe_promote(registry, fake_result(0.75))
    listing = registry.describe()
    json.dumps(listing)
    assert listing[0]["name"] == "churn" and listing[0]["versions"][0]["aliases"] == ["production"]
    assert listing[0]["versions"][0]["gate"]["passed"] is True
    table = render_listing(listing)
    assert "churn" in table and "production" in table and "auc=0.75" in table
    assert listing[0]["production"] == {"model_version": "churn:v1", "model_kind": "learned",
                                        "model_name": "xgboost", "why": ""}
    assert "churn serves churn:v1 = xgboost (learned)" in table
    assert "no models" in render_listing([])


@mock_aws
def test_s3_registry_round_trip_rollback_and_corruption():
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="models")
    registry = registry_for("s3://models/registry", s3_client=client)
    v1, _ = register_and_maybe_promote(registry, fake_result(0.75))
    register_and_maybe_promote(registry, fake_result(0.80, brier=0.09))
    assert registry.versions("churn") == [1, 2]
    assert registry.production("churn").uri == "s3://models/registry/churn/v2"
    assert registry.rollback("churn").version == v1.version
    ref, artifacts = registry.load_artifacts("churn")
    assert ref.version == 1 and artifacts["model.ubj"] == b"booster-bytes"
    client.put_object(Bucket="models", Key="registry/churn/v1/model.ubj", Body=b"bitrot")
    with pytest.raises(CorruptArtifact):
        registry.load_artifacts("churn")
    assert [m["name"] for m in registry.describe()] == ["churn"]
