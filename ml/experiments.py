"""Experiment readouts from the warehouse's sufficient statistics (STYLE "Experiments").

`analyze` turns one row per (experiment, variant, metric) of sums — n, Σy, Σy², Σx, Σx², Σxy with x the
pre-period value — into one result row per (experiment, treatment variant, metric): lift with interval,
p-value (raw and Holm-adjusted across the experiment's metrics), CUPED-adjusted lift, the always-valid
interval, the experiment's SRM test and guardrail flags. `readout` puts the warnings into words.
Nothing here reads the warehouse or the experiment files: callers pass frames and designs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ml import stats

NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    is_proportion: bool = False  # 0/1 per unit: the plain interval is Newcombe's
    higher_is_better: bool = True
    is_guardrail: bool = False  # flagged when harmed, whatever the experiment's primary metric


# The per-profile metrics the experiment_metrics mart computes (a test keeps the two equal).
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("plays", "plays started in the window"),
    Metric("watch_minutes", "minutes watched in the window", is_guardrail=True),
    Metric("completed_plays", "plays completed in the window"),
    Metric("top_picks_play_start_rate", "plays started from the Top Picks row per day with an exposure"),
    Metric("is_retained_7d", "active 7–13 days after first exposure (units with 14 days of follow-up)",
           is_proportion=True, is_guardrail=True),
    Metric("is_converted", "started a paid (non-trial) subscription in the window", is_proportion=True),
)}


@dataclass(frozen=True)
class Design:
    """What the analysis needs of an experiment definition: control first, the configured weights."""

    experiment_id: str
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    primary_metric: str

    @property
    def control(self) -> str:
        return self.variants[0]


RESULT_COLUMNS = [
    "experiment_id", "variant", "control_variant", "metric", "is_primary", "is_guardrail", "n", "mean",
    "control_n", "control_mean", "lift", "lift_low", "lift_high", "relative_lift", "relative_lift_low",
    "relative_lift_high", "p_value", "p_value_holm", "cuped_lift", "cuped_lift_low", "cuped_lift_high",
    "cuped_interval_reduction", "sequential_low", "sequential_high", "srm_p_value", "is_srm",
    "is_guardrail_harmed", "has_enough_data", "note",
]
_SUMS = ["n", "total", "total_squares", "pre_total", "pre_total_squares", "cross_total"]


def analyze(sums: pd.DataFrame, designs: list[Design], units: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Result rows for every design (also those without data: one `not enough data` row per variant and
    primary metric). `units`: experiment_id, variant, units (assigned profiles) for the SRM test."""
    rows = []
    for design in designs:
        own = sums[sums["experiment_id"] == design.experiment_id]
        counts = {r.variant: int(r.units) for r in units[units["experiment_id"] == design.experiment_id].itertuples()}
        srm = stats.sample_ratio_test(counts, dict(zip(design.variants, design.weights, strict=True)))
        rows.extend(_experiment_rows(design, own, srm, alpha))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _experiment_rows(design: Design, sums: pd.DataFrame, srm: stats.SampleRatio, alpha: float) -> list[dict]:
    groups = {(r["variant"], r["metric"]): stats.CovariateStats(*(r[c] for c in _SUMS))
              for r in sums.to_dict("records")}
    metrics = sorted({m for _, m in groups} | {design.primary_metric}, key=_metric_order)
    rows = []
    for variant in design.variants[1:]:
        for metric in metrics:
            treatment, control = groups.get((variant, metric)), groups.get((design.control, metric))
            rows.append(_result_row(design, variant, metric, treatment, control, srm, alpha))
    _adjust(rows)
    return rows


def _metric_order(name: str) -> tuple[int, str]:
    return (list(METRICS).index(name) if name in METRICS else len(METRICS), name)


def _result_row(design: Design, variant: str, metric_name: str, treatment, control,
                srm: stats.SampleRatio, alpha: float) -> dict:
    metric = METRICS.get(metric_name, Metric(metric_name, metric_name))
    row = dict.fromkeys(RESULT_COLUMNS, math.nan) | {
        "experiment_id": design.experiment_id, "variant": variant, "control_variant": design.control,
        "metric": metric_name, "is_primary": metric_name == design.primary_metric,
        "is_guardrail": metric.is_guardrail, "srm_p_value": srm.p_value, "is_srm": srm.is_mismatch,
        "is_guardrail_harmed": False, "has_enough_data": False,
        "n": treatment.n if treatment else 0, "control_n": control.n if control else 0,
        "mean": treatment.metric.mean if treatment else math.nan,
        "control_mean": control.metric.mean if control else math.nan,
    }
    if treatment is None or control is None:
        missing = variant if treatment is None else design.control
        row["note"] = f"{NOT_ENOUGH_DATA}: no exposed units in variant {missing}"
        return row
    plain = _plain_difference(metric, treatment, control, alpha)
    if not plain.enough_data:
        row["note"] = plain.reason
        return row
    cuped = stats.cuped_difference(treatment, control, alpha)
    sequential = stats.sequential_interval(plain, treatment.n + control.n, alpha)
    return row | {
        "lift": plain.estimate, "lift_low": plain.low, "lift_high": plain.high,
        "relative_lift": plain.relative, "relative_lift_low": plain.relative_low,
        "relative_lift_high": plain.relative_high, "p_value": plain.p_value,
        "cuped_lift": cuped.difference.estimate, "cuped_lift_low": cuped.difference.low,
        "cuped_lift_high": cuped.difference.high, "cuped_interval_reduction": cuped.interval_reduction,
        "sequential_low": sequential[0], "sequential_high": sequential[1], "has_enough_data": True,
        "is_guardrail_harmed": metric.is_guardrail and stats.is_harmed(cuped.difference, metric.higher_is_better),
        "note": "",
    }


def _plain_difference(metric: Metric, treatment: stats.CovariateStats, control: stats.CovariateStats,
                      alpha: float) -> stats.Difference:
    if metric.is_proportion:
        if treatment.n < 2 or control.n < 2:
            return stats.mean_difference(treatment.metric, control.metric, alpha)  # its "not enough" reason
        if treatment.total + control.total in (0, treatment.n + control.n):
            return stats.not_enough_data("zero variance in both groups")
        return stats.proportion_difference(round(treatment.total), treatment.n, round(control.total), control.n, alpha)
    return stats.mean_difference(treatment.metric, control.metric, alpha)


def _adjust(rows: list[dict]) -> None:
    """Holm across each treatment variant's metrics (family-wise: a readout is read as a whole)."""
    for variant in {r["variant"] for r in rows}:
        own = [r for r in rows if r["variant"] == variant]
        for row, adjusted in zip(own, stats.adjust_p_values([r["p_value"] for r in own], "holm"), strict=True):
            row["p_value_holm"] = adjusted


# -- traffic shared with other experiments ---------------------------------------------------------------

def overlap_checks(overlaps: pd.DataFrame, experiment_id: str) -> list[dict]:
    """For each experiment sharing profiles with `experiment_id`: how many, and Pearson's χ² test of
    independence of the two assignments (p < 0.001 flags a dependence, as for SRM)."""
    from scipy.stats import chi2_contingency

    own = overlaps[overlaps["experiment_id"] == experiment_id]
    checks = []
    for other, rows in own.groupby("other_experiment_id", sort=True):
        table = rows.pivot_table(index="variant", columns="other_variant", values="profiles", fill_value=0)
        p_value = math.nan
        if table.shape[0] > 1 and table.shape[1] > 1 and (table.sum(axis=1) > 0).all() and (table.sum(axis=0) > 0).all():
            p_value = float(chi2_contingency(table.to_numpy(), correction=False).pvalue)
        checks.append({"other_experiment_id": other, "profiles": int(table.to_numpy().sum()), "p_value": p_value,
                       "is_dependent": bool(p_value < stats.SRM_THRESHOLD)})
    return checks


# -- words --------------------------------------------------------------------------------------------

def readout(results: pd.DataFrame, experiment_id: str, exposure_issues: dict[str, int] | None = None,
            overlaps: list[dict] | None = None) -> list[str]:
    """Warnings and the verdict of one experiment, in sentences, most important first. `overlaps`:
    `overlap_checks` of this experiment."""
    own = results[results["experiment_id"] == experiment_id]
    lines = []
    if own.empty or not own["has_enough_data"].any():
        reasons = sorted({str(n) for n in own["note"] if n}) or [f"{NOT_ENOUGH_DATA}: no exposures"]
        return [f"Not enough data to read this experiment ({'; '.join(reasons)})."]
    first = own.iloc[0]
    if bool(first["is_srm"]):
        lines.append(f"Sample ratio mismatch (p = {first['srm_p_value']:.2g} < {stats.SRM_THRESHOLD}): the units "
                     "per variant do not match the configured weights. Do not trust these lifts until the "
                     "assignment or the exposure logging is fixed.")
    for issue, count in sorted((exposure_issues or {}).items()):
        if count:
            lines.append(f"{count} exposures were not counted: {issue.replace('_', ' ')}.")
    for check in overlaps or []:
        if check["is_dependent"]:
            lines.append(f"Shares {check['profiles']:,} profiles with {check['other_experiment_id']} and the "
                         f"assignments are not independent (p = {check['p_value']:.2g}): their effects are "
                         "confounded; give them different salts or make them mutually exclusive.")
        else:
            lines.append(f"Shares {check['profiles']:,} profiles with {check['other_experiment_id']}; the "
                         "assignments are independent, so each readout averages over the other's variants.")
    for row in own[own["is_guardrail_harmed"]].itertuples():
        lines.append(f"Guardrail harmed: {row.metric} in {row.variant} {_relative(row)} versus {row.control_variant}.")
    for row in own[own["is_primary"]].itertuples():
        if not row.has_enough_data:
            lines.append(f"Primary metric {row.metric} in {row.variant}: {row.note}.")
        elif row.sequential_low <= 0 <= row.sequential_high:
            lines.append(f"Primary metric {row.metric} in {row.variant}: {_relative(row)}; the interval is still "
                         "too wide to decide (the always-valid interval includes no change).")
        else:
            word = "better" if row.cuped_lift > 0 else "worse"
            lines.append(f"Primary metric {row.metric} in {row.variant}: {_relative(row)}, {word} than "
                         f"{row.control_variant} (always-valid interval excludes no change).")
    return lines


def _relative(row) -> str:
    if math.isnan(row.relative_lift):
        return f"{row.lift:+.3g} (from {row.lift_low:+.3g} to {row.lift_high:+.3g})"
    return f"{row.relative_lift:+.1%} (from {row.relative_lift_low:+.1%} to {row.relative_lift_high:+.1%})"
