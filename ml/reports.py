"""Evaluation reports: PNG plots and a short markdown summary written beside a model's artifacts.

Plots (matplotlib, Agg backend so it runs headless): ROC with the baseline, calibration, lift by
decile, feature importance (mean |SHAP| or gain), and NDCG@10 by profile activity bucket for the
recommender. Returns the paths and a metadata dict Dagster can attach to the asset.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend


def write_report(result, folder: str | Path, version: int | None = None, selection=None) -> dict:
    """Write plots + report.md for a TrainingResult into `folder`; return {"report", "plots", "metadata"}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plots = {}
    details = result.details
    if details.get("roc"):
        plots["roc"] = _roc(details["roc"], folder / "roc.png")
    if details.get("calibration_curve"):
        plots["calibration"] = _calibration(details["calibration_curve"], folder / "calibration.png")
    if details.get("lift_curve"):
        plots["lift"] = _bars(list(range(1, len(details["lift_curve"]) + 1)), details["lift_curve"],
                              "score decile (1 = highest risk)", "lift", "Lift by decile", folder / "lift.png")
    importance = details.get("contributions") or details.get("importance")
    if importance:
        top = list(importance.items())[:20][::-1]
        plots["feature_importance"] = _barh([k for k, _ in top], [v for _, v in top],
                                            "mean |contribution|" if details.get("contributions") else "gain",
                                            folder / "feature_importance.png")
    if details.get("by_bucket"):
        plots["ndcg_by_activity"] = _buckets(details["by_bucket"], folder / "ndcg_by_activity.png")
    report = folder / "report.md"
    report.write_text(_markdown(result, version, plots, selection))
    return {"report": str(report), "plots": {k: str(v) for k, v in plots.items()},
            "metadata": {"metrics": result.metrics, "baseline_metrics": result.baseline_metrics,
                         "undefined_metrics": result.undefined_metrics, "data_window": result.data_window}}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _roc(roc: dict, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4))
    for name, (fpr, tpr) in roc.items():
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test slice)")
    ax.legend()
    return _save(fig, path)


def _calibration(curve, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4))
    predicted, observed = zip(*curve)
    ax.plot(predicted, observed, "o-", label="model")
    top = max(max(predicted), max(observed))
    ax.plot([0, top], [0, top], ":", color="grey", label="perfect")
    ax.set(xlabel="mean predicted churn risk", ylabel="observed churn rate", title="Calibration (test slice)")
    ax.legend()
    return _save(fig, path)


def _bars(x, y, xlabel, ylabel, title, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(x, y)
    ax.axhline(1.0, color="grey", linestyle=":")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return _save(fig, path)


def _barh(labels, values, xlabel, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(labels) + 1))
    ax.barh(labels, values)
    ax.set(xlabel=xlabel, title="Feature importance")
    return _save(fig, path)


def _buckets(by_bucket: dict, path: Path) -> Path:
    order = ["1-4", "5-19", "20-99", "100+"]
    buckets = [b for b in order if any(b in m for m in by_bucket.values())]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    width = 0.8 / max(1, len(by_bucket))
    for i, (model, values) in enumerate(by_bucket.items()):
        ax.bar([j + i * width for j in range(len(buckets))],
               [values.get(b, {}).get("ndcg_at_10", 0.0) for b in buckets], width, label=model)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(buckets))], buckets)
    ax.set(xlabel="profile activity (interactions before the cut)", ylabel="NDCG@10", title="NDCG@10 by activity")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _markdown(result, version, plots, selection=None) -> str:
    title = f"# {result.name}" + (f" v{version}" if version is not None else "")
    lines = [title, "", "## Metrics (test slice)", "", "| metric | ours | " +
             " | ".join(result.baseline_metrics) + " |", "|---|---|" + "---|" * len(result.baseline_metrics)]
    names = list(result.metrics) + [m for b in result.baseline_metrics.values() for m in b if m not in result.metrics]
    for metric in dict.fromkeys(names):
        cells = [_fmt(result.metrics.get(metric))] + [_fmt(b.get(metric)) for b in result.baseline_metrics.values()]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    if result.undefined_metrics:
        lines += ["", "Not computed: " + "; ".join(f"{k} ({v})" for k, v in result.undefined_metrics.items())]
    if selection is not None:
        lines += ["", "## Which candidate serves", "", selection.decision, "",
                  f"| candidate | kind | {selection.headline} | label events | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {c['model_name']} | {c['kind']} | {_fmt(c['headline'])} | {_fmt(c['label_events'])} | "
                  f"{c['verdict']} |" for c in selection.candidates]
    lines += ["", "## Data window", ""] + [f"- {k}: {v}" for k, v in result.data_window.items()]
    lines += ["", f"Features: {len(result.features)} (hash {result.feature_hash})", ""]
    lines += [f"![{name}]({Path(path).name})" for name, path in plots.items()]
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4g}"
