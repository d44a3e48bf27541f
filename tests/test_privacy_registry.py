"""The registry eraser removes a person's candidate rows and keeps the version loadable (sha256 updated)."""
from __future__ import annotations

import io
from types import SimpleNamespace

import pandas as pd

from ml.privacy import RegistryEraser
from ml.registry import LocalStorage, ModelRegistry


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_candidate_rows_of_the_person_are_removed_and_the_version_still_verifies(tmp_path):
    registry = ModelRegistry(LocalStorage(tmp_path / "registry"))
    candidates = pd.DataFrame({"profile_id": ["p1", "p1", "p10", "p2"], "rank": [1, 2, 1, 1],
                               "content_id": ["t1", "t2", "t1", "t3"], "score": [0.9, 0.8, 0.7, 0.6]})
    similar = pd.DataFrame({"title_id": ["t1"], "rank": [1], "similar_title_id": ["t2"], "score": [0.5]})
    result = SimpleNamespace(name="recommender", artifacts={"candidates.parquet": _parquet(candidates),
                                                            "similar.parquet": _parquet(similar), "model.json": b"{}"},
                             metrics={}, baseline_metrics={}, features=[], feature_hash="", data_window={},
                             undefined_metrics=[], params={}, kind="baseline", model_name="popularity")
    registry.register(result)
    eraser = RegistryEraser(registry)
    assert eraser.count(frozenset({"p1"})) == 2
    assert eraser.erase(frozenset({"p1"}), frozenset()).rows == 2
    assert eraser.count(frozenset({"p1"})) == 0
    _, artifacts = registry.load_artifacts("recommender", 1)  # raises if a digest were stale
    left = pd.read_parquet(io.BytesIO(artifacts["candidates.parquet"]))
    assert left["profile_id"].tolist() == ["p10", "p2"]  # p10 is not p1
