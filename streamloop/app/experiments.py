"""`streamloop experiments list|report` and the dbt seed that carries experiment definitions.

Definitions live only in `experiments/*.yml` and are read by the product's loader. The warehouse needs
them too (which variants exist, the window, the control): `experiment_seed_rows` derives
`dbt_project/seeds/experiment_variants.csv` from them, and a test fails when the committed seed drifts.

    python -m streamloop.app.experiments          # rewrite the seed after editing experiments/*.yml
"""
from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from pathlib import Path

from streamloop.core import clock
from streamloop.core.errors import StreamloopError
from streamloop.core.experiments import load_experiments
from streamloop.core.settings import DBT_PROJECT_DIR, REPO_ROOT, get_settings

EXPERIMENTS_DIR = REPO_ROOT / "experiments"
SEED_PATH = DBT_PROJECT_DIR / "seeds" / "experiment_variants.csv"
SEED_COLUMNS = ["experiment_id", "kind", "surface", "variant", "variant_order", "weight", "started_at", "ended_at",
                "primary_metric"]


def experiment_seed_rows(folder: Path = EXPERIMENTS_DIR) -> list[dict]:
    """One row per (experiment, variant or bandit arm); the control is variant_order 0."""
    loaded = load_experiments(folder)
    rows = []
    for kind, definitions in (("test", loaded.tests), ("bandit", loaded.bandits)):
        for definition in definitions:
            branches = definition.variants if kind == "test" else definition.arms
            for order, branch in enumerate(branches):
                rows.append({
                    "experiment_id": definition.id, "kind": kind, "surface": definition.surface,
                    "variant": branch.name, "variant_order": order,
                    # bandit arms have no fixed weight: their allocation is what the bandit learns
                    "weight": f"{branch.weight:g}" if kind == "test" else "",
                    "started_at": _utc(definition.start), "ended_at": _utc(definition.end),
                    "primary_metric": definition.primary_metric,
                })
    return sorted(rows, key=lambda r: (r["experiment_id"], r["variant_order"]))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def seed_text(folder: Path = EXPERIMENTS_DIR) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, SEED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(experiment_seed_rows(folder))
    return out.getvalue()


# -- streamloop experiments list | report ----------------------------------------------------------------

def list_experiments(folder: Path = EXPERIMENTS_DIR) -> list[dict]:
    """Every definition with its status by the clock and, once built, the profiles assigned per variant."""
    loaded = load_experiments(folder)
    assigned = _warehouse_rows("select experiment_id, variant, count(*) from experiment_assignments group by 1, 2")
    units = {(e, v): n for e, v, n in assigned}
    now = clock.now()
    out = []
    for kind, definition in [("test", t) for t in loaded.tests] + [("bandit", b) for b in loaded.bandits]:
        branches = [v.name for v in (definition.variants if kind == "test" else definition.arms)]
        status = "upcoming" if now < definition.start else "ended" if now >= definition.end else "running"
        out.append({"experiment_id": definition.id, "kind": kind, "surface": definition.surface, "status": status,
                    "start": definition.start.isoformat(), "end": definition.end.isoformat(),
                    "primary_metric": definition.primary_metric,
                    "variants": {b: units.get((definition.id, b), 0) for b in branches}})
    return out


def render_list(rows: list[dict]) -> str:
    lines = [f"{len(rows)} experiments"]
    for r in rows:
        variants = ", ".join(f"{name} {n:,}" for name, n in r["variants"].items())
        lines.append(f"  {r['experiment_id']} ({r['kind']}, {r['status']}, {r['surface']}): "
                     f"primary {r['primary_metric']}; profiles assigned: {variants}")
    unknown = _warehouse_rows("select experiment_id, count(*) from experiment_exposures "
                              "where exposure_status = 'unknown_experiment' group by 1 order by 1")
    if unknown:
        lines.append("exposures of experiments no file defines (not counted): "
                     + ", ".join(f"{experiment_id} {n:,}" for experiment_id, n in unknown))
    return "\n".join(lines)


def experiment_report(experiment_id: str, folder: Path = EXPERIMENTS_DIR) -> dict:
    """The readout of one experiment from the warehouse's experiment_results (written by every build),
    with its HTML report refreshed under STREAMLOOP_HOME/reports/experiments."""
    from ml.experiments import overlap_checks
    from ml.experiments_report import cuped_gain, srm_status, write_report

    known = {e["experiment_id"]: e for e in list_experiments(folder)}
    if experiment_id not in known:
        raise StreamloopError(f"unknown experiment {experiment_id!r} (known: {', '.join(sorted(known)) or 'none'})")
    if known[experiment_id]["kind"] == "bandit":
        return bandit_report(experiment_id)
    if not _warehouse_columns("experiment_results"):
        raise StreamloopError("the warehouse has no experiment_results: run `streamloop build` first")
    results = _warehouse_frame("select * from experiment_results where experiment_id = ?", [experiment_id])
    issues = {f"exposures {status.replace('_', ' ')}": n for status, n in _warehouse_rows(
        "select exposure_status, count(*) from experiment_exposures where experiment_id = ? "
        "and exposure_status <> 'counted' group by 1 order by 1", [experiment_id])}
    overlaps = overlap_checks(_warehouse_frame("select * from experiment_overlaps"), experiment_id) \
        if _warehouse_columns("experiment_overlaps") else []
    report = write_report(results, experiment_id, get_settings().home_dir / "reports" / "experiments", issues,
                          overlaps)
    return {"experiment_id": experiment_id, "srm": srm_status(results), "cuped_interval_reduction": cuped_gain(results),
            "readout": report["lines"], "uncounted_exposures": issues, "overlaps": overlaps,
            "report": str(report["html"]),
            "results": [{k: _plain(v) for k, v in r.items()} for r in results.to_dict("records")]}


def bandit_report(bandit_id: str) -> dict:
    """The row-order bandit's readout as the bandit_readout asset wrote it: arms' posteriors and the
    off-policy values of candidate policies."""
    arm_columns = _warehouse_columns("bandit_arms")
    if "arm" not in arm_columns:
        raise StreamloopError("the warehouse has no bandit readout: run `streamloop build` first")
    arms = [dict(zip(arm_columns, (_plain(v) for v in row), strict=True)) for row in _warehouse_rows(
        "select * from bandit_arms where bandit_id = ? order by arm", [bandit_id])]
    value_columns = _warehouse_columns("bandit_policy_values")
    values = [] if "policy" not in value_columns else [  # no policy rows at all: written without columns
        dict(zip(value_columns, (_plain(v) for v in row), strict=True)) for row in _warehouse_rows(
            "select * from bandit_policy_values where bandit_id = ? order by policy, method", [bandit_id])]
    lines = [f"{a['arm']}: click-through {a['mean']:.2%} (95% credible {a['low']:.2%} to {a['high']:.2%}), "
             f"P(best) {a['probability_best']:.0%}, {a['pages']:,} pages" for a in arms]
    if not values:
        lines.append("not enough data: no pages with a logged propensity to evaluate policies off-line")
    for v in (v for v in values if v["method"] == "snips"):
        lines.append(f"policy {v['policy']}: {v['estimate']:.4f} clicks per impression "
                     f"(from {v['low']:.4f} to {v['high']:.4f}, self-normalized IPS)")
    return {"experiment_id": bandit_id, "kind": "bandit", "readout": lines, "arms": arms, "policy_values": values}


def render_report(report: dict) -> str:
    if report.get("kind") == "bandit":
        return "\n".join([f"bandit {report['experiment_id']}", *(f"  - {line}" for line in report["readout"])])
    lines = [f"experiment {report['experiment_id']}", *(f"  - {line}" for line in report["readout"]),
             f"  SRM: {report['srm']}; CUPED narrowed the primary metric's interval by {report['cuped_interval_reduction']}"]
    for r in report["results"]:
        lift = "n/a" if r["relative_lift"] is None else (
            f"{r['relative_lift']:+.1%} [{r['relative_lift_low']:+.1%}, {r['relative_lift_high']:+.1%}]")
        p_value = "" if r["p_value_holm"] is None else f", p(Holm) {r['p_value_holm']:.3g}"
        lines.append(f"  {r['variant']} vs {r['control_variant']} · {r['metric']}: {lift}{p_value}"
                     + (f" — {r['note']}" if r["note"] else ""))
    lines.append(f"  report: {report['report']}")
    return "\n".join(lines)


def _plain(value):
    """JSON-ready: numpy scalars to Python, nan to None."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def _warehouse_rows(sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query on the built warehouse; [] when it or the table is not there yet."""
    import duckdb

    path = get_settings().warehouse_file
    if not Path(path).exists():
        return []
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            return con.execute(sql, params or []).fetchall()
        except duckdb.CatalogException:
            return []


def _warehouse_frame(sql: str, params: list | None = None):
    """A query's rows as pandas (SQL nulls in number columns as nan, as ml.experiments expects)."""
    import duckdb

    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _warehouse_columns(table: str) -> list[str]:
    return [name for (name,) in _warehouse_rows(
        "select column_name from information_schema.columns where table_name = ? order by ordinal_position", [table])]


if __name__ == "__main__":
    SEED_PATH.write_text(seed_text())
    print(f"wrote {SEED_PATH}")
