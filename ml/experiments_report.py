"""One experiment's readout for people: a lift plot with intervals, a markdown summary (Dagster asset
metadata renders it) and a self-contained HTML file (the plot embedded), from `experiment_results` rows."""
from __future__ import annotations

import base64
import math
from pathlib import Path

import jinja2
import matplotlib
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend

from ml.experiments import readout

_HTML = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>Experiment {{ experiment_id }}</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}
.warn{color:#a30}</style></head><body>
<h1>{{ experiment_id }}</h1>
<ul>{% for line in lines %}<li{% if warn(line) %} class="warn"{% endif %}>{{ line }}</li>{% endfor %}</ul>
<p>SRM: {{ srm }}. CUPED narrowed the primary metric's interval by {{ cuped }}.</p>
{% if png %}<img alt="relative lift per metric with 95% and always-valid intervals" src="data:image/png;base64,{{ png }}">{% endif %}
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in columns %}<td>{{ row[c] }}</td>{% endfor %}</tr>{% endfor %}</table>
</body></html>""")

TABLE_COLUMNS = ["variant", "metric", "n", "control_n", "mean", "control_mean", "relative_lift", "lift_low",
                 "lift_high", "p_value", "p_value_holm", "cuped_lift", "cuped_interval_reduction", "note"]


def lift_plot(rows: pd.DataFrame, path: Path) -> Path | None:
    """Relative lift per (variant, metric): the 95% interval thick, the always-valid interval thin."""
    rows = rows[rows["has_enough_data"] & rows["relative_lift"].notna()]
    if rows.empty:
        return None
    labels = [f"{r.metric} ({r.variant})" for r in rows.itertuples()]
    control = rows["control_mean"].to_numpy()
    y = range(len(rows))
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.2))
    # the always-valid interval is absolute; dividing by the control mean shows it on the same scale
    ax.hlines(y, rows["sequential_low"] / control, rows["sequential_high"] / control, color="#999", lw=1,
              label="always-valid")
    ax.hlines(y, rows["relative_lift_low"], rows["relative_lift_high"], color="#1f77b4", lw=4, label="95%")
    ax.plot(rows["relative_lift"], list(y), "o", color="#1f77b4")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(list(y), labels)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("lift over control")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def srm_status(rows: pd.DataFrame) -> str:
    if rows.empty or math.isnan(rows["srm_p_value"].iloc[0]):
        return "not tested (no units)"
    p_value = rows["srm_p_value"].iloc[0]
    return f"{'FAILED' if rows['is_srm'].iloc[0] else 'ok'} (p = {p_value:.3g})"


def cuped_gain(rows: pd.DataFrame) -> str:
    primary = rows[rows["is_primary"] & rows["has_enough_data"]]
    return "n/a" if primary.empty else f"{primary['cuped_interval_reduction'].mean():.1%}"


def write_report(results: pd.DataFrame, experiment_id: str, folder: Path,
                 exposure_issues: dict[str, int] | None = None, overlaps: list[dict] | None = None) -> dict:
    """Writes <folder>/<id>.png and <id>.html; returns their paths, the readout lines and a markdown text."""
    rows = results[results["experiment_id"] == experiment_id]
    lines = readout(results, experiment_id, exposure_issues, overlaps)
    png = lift_plot(rows, Path(folder) / f"{experiment_id}.png")
    html_path = Path(folder) / f"{experiment_id}.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(_HTML.render(
        experiment_id=experiment_id, lines=lines, srm=srm_status(rows), cuped=cuped_gain(rows),
        png=base64.b64encode(png.read_bytes()).decode() if png else "", columns=TABLE_COLUMNS,
        rows=[{c: _fmt(r[c]) for c in TABLE_COLUMNS} for r in rows.to_dict("records")],
        warn=lambda line: not line.startswith("Primary metric") or "too wide" in line))
    markdown = "\n".join([f"### {experiment_id}", *(f"- {line}" for line in lines), "",
                          f"SRM: {srm_status(rows)}; CUPED interval reduction (primary): {cuped_gain(rows)}"])
    return {"html": html_path, "png": png, "lines": lines, "markdown": markdown}


def _fmt(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)
