"""Registering a training run's candidates and describing them to Dagster; gating the chosen one.

Shared by the model assets, their quality checks and the promotion assets, so a check and the
promotion it guards judge a candidate with the very same gate (ml.gates).
"""
from __future__ import annotations

import base64
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ml.gates import GateResult, Selection, evaluate_gate, select_candidate
from ml.registry import ModelRef, ModelRegistry
from ml.results import TrainingResult

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+\.png)\)")


@dataclass
class RegisteredCandidates:
    """Every candidate one training run registered, and the run's choice among them."""

    name: str
    refs: list[ModelRef]
    selection: Selection

    @property
    def chosen(self) -> ModelRef | None:
        return next((r for r in self.refs if r.model_name == self.selection.chosen), None)


def register_candidates(registry: ModelRegistry, result: TrainingResult, data_source: str) -> dg.Output:
    """Chooses among the run's candidates (ml.gates.select_candidate), registers each as a version
    (the learned model first) with the choice in its metadata, and attaches the learned model's report."""
    from ml.reports import write_report  # matplotlib: only where a report is drawn

    selection = select_candidate(result.name, result.candidates)
    refs = [registry.register(c, data_source=data_source, selection=selection.as_dict())
            for c in [result, *result.baselines]]
    learned = refs[0]
    with tempfile.TemporaryDirectory() as folder:
        report = write_report(result, folder, learned.version, selection=selection)
        registry.attach_report(learned.name, learned.version, [report["report"], *report["plots"].values()])
        markdown = _inline_images(Path(report["report"]))
    registered = RegisteredCandidates(result.name, refs, selection)
    chosen = registered.chosen
    metadata = {
        "chosen": dg.MetadataValue.text(chosen.model_version if chosen else "none"),
        "model_kind": dg.MetadataValue.text(selection.chosen_kind or "none"),
        "model_name": dg.MetadataValue.text(selection.chosen or "none"),
        "decision": dg.MetadataValue.text(selection.decision),
        "candidates": dg.MetadataValue.md(_candidates_table(registered)),
        "registry_uri": dg.MetadataValue.url(learned.uri) if learned.uri.startswith("s3://")
        else dg.MetadataValue.path(learned.uri),
        "report": dg.MetadataValue.md(markdown),
        "features": len(learned.features),
        "feature_hash": learned.feature_hash,
        "data_window": dg.MetadataValue.json(learned.data_window),
        **{f"metric/{name}": float(value) for name, value in (chosen or learned).metrics.items()},
    }
    if learned.undefined_metrics:
        metadata["undefined_metrics"] = dg.MetadataValue.json(learned.undefined_metrics)
    return dg.Output(registered, metadata=metadata)


def _candidates_table(registered: RegisteredCandidates) -> str:
    versions = {r.model_name: r.model_version for r in registered.refs}
    headline = registered.selection.headline
    rows = [f"| {versions.get(c['model_name'], '–')} | {c['model_name']} | {c['kind']} | {_fmt(c['headline'])} | "
            f"{_fmt(c['label_events'])} | {c['verdict']} |" for c in registered.selection.candidates]
    return (f"| version | candidate | kind | {headline} | label events | verdict |\n|---|---|---|---|---|---|\n"
            + "\n".join(rows))


def _inline_images(report: Path) -> str:
    """The report's markdown with its PNG plots embedded, so the Dagster UI shows them from any host."""
    def embed(match: re.Match) -> str:
        data = base64.b64encode((report.parent / match.group(2)).read_bytes()).decode()
        return f"![{match.group(1)}](data:image/png;base64,{data})"

    return _IMAGE.sub(embed, report.read_text())


def gate_candidate(registry: ModelRegistry, candidate: ModelRef, selection: Selection) -> GateResult:
    """A candidate's gate: chosen by its run's selection, and no regression against production."""
    production = registry.production(candidate.name)
    return evaluate_gate(candidate.name, candidate.metrics, production.metrics if production else None,
                         undefined=candidate.undefined_metrics, selection=selection, model_name=candidate.model_name)


def gate_check_result(registry: ModelRegistry, candidates: RegisteredCandidates) -> dg.AssetCheckResult:
    """Evaluates and records every candidate's gate; passes when the chosen one passes. A failure has
    ERROR severity, so the blocking check stops promotion and production stays as it was."""
    gates = {ref.version: gate_candidate(registry, ref, candidates.selection) for ref in candidates.refs}
    for version, gate in gates.items():
        registry.record_gate(candidates.name, version, gate)
    chosen = candidates.chosen
    gate = gates[chosen.version] if chosen else GateResult(candidates.name, False, [], candidates.selection.decision)
    rows = "\n".join(f"| {c.name} | {c.metric} | {_fmt(c.value)} | {_fmt(c.threshold)} | "
                     f"{'pass' if c.passed else 'FAIL'} |" for c in gate.checks)
    label = chosen.model_version if chosen else candidates.name
    verdict = "gate passed" if gate.passed else "; ".join(gate.reasons or [candidates.selection.decision])
    return dg.AssetCheckResult(
        passed=gate.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{label}: {verdict} — {candidates.selection.decision}",
        metadata={"model_version": label, "model_kind": candidates.selection.chosen_kind or "none",
                  "decision": candidates.selection.decision,
                  "checks": dg.MetadataValue.md("| check | metric | value | threshold | result |\n"
                                                "|---|---|---|---|---|\n" + rows),
                  "candidates": dg.MetadataValue.md(_candidates_table(candidates))},
    )


def promote_candidate(registry: ModelRegistry, candidates: RegisteredCandidates) -> dg.MaterializeResult:
    """Moves `production` to the chosen candidate. Re-runs the gate (and ml.registry refuses a failed gate
    too), so materializing this asset alone, without its upstream check, can never promote a worse model."""
    from ml.errors import RegistryError

    chosen = candidates.chosen
    if chosen is None:
        raise RegistryError(f"{candidates.name}: nothing to promote: {candidates.selection.decision}")
    previous = registry.production(chosen.name)
    ref = registry.promote(chosen.name, chosen.version, gate_candidate(registry, chosen, candidates.selection))
    return dg.MaterializeResult(metadata={
        "model_version": dg.MetadataValue.text(ref.model_version),
        "model_kind": dg.MetadataValue.text(ref.model_kind),
        "model_name": dg.MetadataValue.text(ref.model_name),
        "why": dg.MetadataValue.text(candidates.selection.decision),
        "previous_production": dg.MetadataValue.text(previous.model_version if previous else "none"),
        **{f"metric/{name}": float(value) for name, value in ref.metrics.items()},
    })


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"
