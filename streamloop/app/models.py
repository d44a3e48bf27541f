"""`streamloop models rollback NAME`: production goes back to the version promoted before the current
one, and what is served follows at once (batch scoring, then publication, the jobs `train` runs)."""
from __future__ import annotations

from streamloop.core.errors import StreamloopError


def run_rollback(name: str) -> str:
    from ml.models import MODEL_NAMES
    from ml.registry import default_registry
    from orchestration.runs import execute_job, failures

    if name not in MODEL_NAMES:
        raise StreamloopError(f"unknown model {name}; choose from {', '.join(MODEL_NAMES)}")
    registry = default_registry()
    current = registry.production(name)
    restored = registry.rollback(name)
    problems = []
    for job in ("batch_scoring", "publication"):
        problems += [f"{job} step {line}" for line in failures(execute_job(job, progress=True))]
    if problems:
        raise StreamloopError(f"{name} rolled back to {restored.model_version} but republishing failed: "
                              + "; ".join(problems))
    return (f"{name}: production {current.model_version} → {restored.model_version} "
            f"({restored.model_name}, {restored.model_kind}); rescored and republished")
