"""Registering a trained model and describing it to Dagster; gating a candidate against production.

Shared by the model assets, their quality checks and the promotion assets, so a check and the
promotion it guards judge a candidate with the very same gate (ml.gates).
"""
from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

import dagster as dg

from ml.gates import GateResult, evaluate_gate
from ml.registry import ModelRef, ModelRegistry
from ml.results import TrainingResult

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+\.png)\)")


def register_model(registry: ModelRegistry, result: TrainingResult, data_source: str) -> dg.Output:
    """Registers a new version with its evaluation report; the output carries the ModelRef."""
    from ml.reports import write_report  # matplotlib: only where a report is drawn

    ref = registry.register(result, data_source=data_source)
    with tempfile.TemporaryDirectory() as folder:
        report = write_report(result, folder, ref.version)
        registry.attach_report(ref.name, ref.version, [report["report"], *report["plots"].values()])
        markdown = _inline_images(Path(report["report"]))
    metadata = {
        "model_version": dg.MetadataValue.text(ref.model_version),
        "registry_uri": dg.MetadataValue.url(ref.uri) if ref.uri.startswith("s3://")
        else dg.MetadataValue.path(ref.uri),
        "report": dg.MetadataValue.md(markdown),
        "features": len(ref.features),
        "feature_hash": ref.feature_hash,
        "data_window": dg.MetadataValue.json(ref.data_window),
        "baseline_metrics": dg.MetadataValue.json(ref.baseline_metrics),
        **{f"metric/{name}": float(value) for name, value in ref.metrics.items()},
    }
    if ref.undefined_metrics:
        metadata["undefined_metrics"] = dg.MetadataValue.json(ref.undefined_metrics)
    return dg.Output(ref, metadata=metadata)


def _inline_images(report: Path) -> str:
    """The report's markdown with its PNG plots embedded, so the Dagster UI shows them from any host."""
    def embed(match: re.Match) -> str:
        data = base64.b64encode((report.parent / match.group(2)).read_bytes()).decode()
        return f"![{match.group(1)}](data:image/png;base64,{data})"

    return _IMAGE.sub(embed, report.read_text())


def gate_candidate(registry: ModelRegistry, candidate: ModelRef) -> GateResult:
    """The candidate's gate against the current production version (absolute floors if there is none)."""
    production = registry.production(candidate.name)
    return evaluate_gate(candidate.name, candidate.metrics, candidate.baseline_metrics,
                         production.metrics if production else None, undefined=candidate.undefined_metrics)


def gate_check_result(registry: ModelRegistry, candidate: ModelRef) -> dg.AssetCheckResult:
    """Evaluates and records the gate; a failure has ERROR severity, so the blocking check stops promotion."""
    gate = gate_candidate(registry, candidate)
    registry.record_gate(candidate.name, candidate.version, gate)
    rows = "\n".join(f"| {c.name} | {c.metric} | {_fmt(c.value)} | {_fmt(c.threshold)} | "
                     f"{'pass' if c.passed else 'FAIL'} |" for c in gate.checks)
    return dg.AssetCheckResult(
        passed=gate.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{candidate.model_version}: " + ("gate passed" if gate.passed else "; ".join(gate.reasons)),
        metadata={"model_version": candidate.model_version,
                  "checks": dg.MetadataValue.md("| check | metric | value | threshold | result |\n"
                                                "|---|---|---|---|---|\n" + rows)},
    )


def promote_candidate(registry: ModelRegistry, candidate: ModelRef) -> dg.MaterializeResult:
    """Moves `production` to the candidate. Re-runs the gate (and ml.registry refuses a failed gate too),
    so materializing this asset alone, without its upstream check, can never promote a worse model."""
    previous = registry.production(candidate.name)
    gate = gate_candidate(registry, candidate)
    ref = registry.promote(candidate.name, candidate.version, gate)
    return dg.MaterializeResult(metadata={
        "model_version": dg.MetadataValue.text(ref.model_version),
        "previous_production": dg.MetadataValue.text(previous.model_version if previous else "none"),
        **{f"metric/{name}": float(value) for name, value in ref.metrics.items()},
    })


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"
