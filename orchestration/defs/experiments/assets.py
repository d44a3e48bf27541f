"""Experiment results: the Python step after the warehouse's sufficient statistics (STYLE "Experiments").

experiment_sufficient_stats + experiment_assignments (units for the SRM test) + experiment_exposures
(what was not counted) → ml.experiments.analyze → the `experiment_results` table, one HTML report and
lift plot per experiment under STREAMLOOP_HOME/reports/experiments, and the readouts as asset metadata.
It runs in the `warehouse_build` job right after dbt, so every build refreshes the readouts.
"""

import dagster as dg
import pandas as pd

from ml.experiments import Design, analyze, overlap_checks
from ml.experiments_bandit import BanditDesign
from ml.experiments_bandit import readout as bandit_readout_of
from ml.experiments_report import write_report
from ml.scoring import write_table
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from streamloop.core.experiments import load_experiments
from streamloop.core.settings import REPO_ROOT, get_settings

GROUP = "experiments"
EXPERIMENTS_DIR = REPO_ROOT / "experiments"


def load_designs(folder=EXPERIMENTS_DIR) -> list[Design]:
    """The A/B tests of experiments/*.yml as analysis designs (bandits have their own readout)."""
    return [Design(t.id, tuple(v.name for v in t.variants), tuple(v.weight for v in t.variants), t.primary_metric)
            for t in load_experiments(folder).tests]


# the bandit tables' columns when no bandit has any rows (readers still find the columns)
EMPTY_COLUMNS = {
    "bandit_allocation": ["served_date", "arm", "pages", "share", "bandit_id"],
    "bandit_arms": ["bandit_id", "arm", "pages", "impressions", "clicks", "alpha", "beta", "mean", "low", "high",
                    "probability_best"],
    "bandit_policy_values": ["policy", "method", "estimate", "low", "high", "std_error", "n",
                             "effective_sample_size", "bandit_id"],
}


def load_bandit_designs(folder=EXPERIMENTS_DIR) -> list[BanditDesign]:
    return [BanditDesign(b.id, tuple(a.name for a in b.arms), b.prior_alpha, b.prior_beta)
            for b in load_experiments(folder).bandits]


def read_inputs(con):
    """(sums, units, uncounted exposures per experiment) from the warehouse's experiment marts."""
    sums = con.execute("select * from experiment_sufficient_stats order by experiment_id, variant, metric").df()
    units = con.execute("select experiment_id, variant, count(*) as units from experiment_assignments "
                        "group by experiment_id, variant order by experiment_id, variant").df()
    issues = {}  # experiment → {"exposures <status>": count}
    for experiment_id, status, count in con.execute(
            "select experiment_id, exposure_status, count(*) from experiment_exposures "
            "where exposure_status <> 'counted' group by 1, 2 order by 1, 2").fetchall():
        issues.setdefault(experiment_id, {})[f"exposures {status.replace('_', ' ')}"] = count
    overlaps = con.execute("select * from experiment_overlaps").df()
    return sums, units, issues, overlaps


@dg.asset(group_name=GROUP, deps=["experiment_sufficient_stats", "experiment_assignments", "experiment_exposures",
                                  "experiment_overlaps"],
          pool=WAREHOUSE_POOL, kinds={"duckdb", "python"})
def experiment_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per experiment, treatment variant and metric (CONTRACT §4): lift with interval, p-value,
    CUPED-adjusted lift, SRM p-value, always-valid interval, guardrail flags; plus an HTML report each."""
    designs = load_designs()
    with warehouse.connect(read_only=False) as con:
        sums, units, issues, overlaps = read_inputs(con)
        results = analyze(sums, designs, units)
        write_table(con, "experiment_results", results)
    folder = get_settings().home_dir / "reports" / "experiments"
    metadata: dict = {"dagster/row_count": len(results), "reports": dg.MetadataValue.path(str(folder))}
    for design in designs:
        report = write_report(results, design.experiment_id, folder, issues.get(design.experiment_id),
                              overlap_checks(overlaps, design.experiment_id))
        metadata[design.experiment_id] = dg.MetadataValue.md(report["markdown"])
        if report["png"]:
            metadata[f"{design.experiment_id}_plot"] = dg.MetadataValue.path(str(report["png"]))
        for line in report["lines"]:
            context.log.info(f"{design.experiment_id}: {line}")
    metadata["results"] = dg.MetadataValue.md(results[["experiment_id", "variant", "metric", "n", "relative_lift",
                                                       "p_value_holm", "is_srm", "note"]].to_markdown(index=False))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(group_name=GROUP, deps=["bandit_pages"], pool=WAREHOUSE_POOL, kinds={"duckdb", "python"})
def bandit_readout(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per bandit: allocation over time (`bandit_allocation`), each arm's posterior (`bandit_arms`), and
    off-policy values of candidate row-order policies with the gain over uniform (`bandit_policy_values`)."""
    allocations, arms, values, metadata = [], [], [], {}
    with warehouse.connect(read_only=False) as con:
        pages = con.execute("select * from bandit_pages order by served_at, request_id").df()
        for design in load_bandit_designs():
            result = bandit_readout_of(pages, design)
            allocations.append(result["allocation"].assign(bandit_id=design.bandit_id))
            arms.append(result["posteriors"])
            values.append(result["policy_values"].assign(bandit_id=design.bandit_id))
            gain = result["gain"]
            lines = [f"### {design.bandit_id}", result["posteriors"][["arm", "pages", "mean", "low", "high",
                                                                       "probability_best"]].to_markdown(index=False)]
            if gain:
                lines.append(f"Gain over uniform allocation: {gain['gain']:+.4f} clicks per impression "
                             f"(from {gain['low']:+.4f} to {gain['high']:+.4f}) over {gain['pages']:,} pages.")
            if result["note"]:
                lines.append(result["note"])
            metadata[design.bandit_id] = dg.MetadataValue.md("\n\n".join(lines))
        for name, frames in (("bandit_allocation", allocations), ("bandit_arms", arms),
                             ("bandit_policy_values", values)):
            filled = [f for f in frames if len(f)]
            frame = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame(columns=EMPTY_COLUMNS[name])
            write_table(con, name, frame)
    return dg.MaterializeResult(metadata=metadata)
