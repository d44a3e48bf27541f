"""`streamloop experiments list|report` over a warehouse holding known results (no dbt run: fast)."""
from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
from click.testing import CliRunner

from ml.experiments import Design, analyze
from ml.experiments_truth import Truth, simulate
from ml.scoring import write_table
from streamloop.cli import main
from streamloop.core.settings import get_settings

EXPERIMENT = "top_picks_ranker_vs_popularity"


def _warehouse_with_results(truth: Truth) -> pd.DataFrame:
    sums, units = simulate(np.random.default_rng(4), truth, experiment_id=EXPERIMENT)
    sums["variant"] = sums["variant"].map({"control": "ranker", "treatment": "popularity"})
    units["variant"] = units["variant"].map({"control": "ranker", "treatment": "popularity"})
    design = Design(EXPERIMENT, ("ranker", "popularity"), (50.0, 50.0), "watch_minutes")
    results = analyze(sums, [design], units)
    path = get_settings().warehouse_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        write_table(con, "experiment_results", results)
        write_table(con, "experiment_exposures", pd.DataFrame(
            {"experiment_id": [EXPERIMENT] * 3, "exposure_status": ["counted", "after_the_end", "after_the_end"]}))
        assignments = units.loc[units.index.repeat(units["units"])][["experiment_id", "variant"]]
        write_table(con, "experiment_assignments", assignments)
    return results


def test_report_json_carries_readout_results_and_the_html_path(streamloop_home):
    results = _warehouse_with_results(Truth(units=6000, effect=-0.5, dropped_treatment_share=0.1))
    out = CliRunner().invoke(main, ["experiments", "report", EXPERIMENT, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["readout"][0].startswith("Sample ratio mismatch")
    assert "2 exposures were not counted: exposures after the end." in report["readout"]
    assert any(line.startswith("Guardrail harmed: watch_minutes in popularity") for line in report["readout"])
    assert report["srm"].startswith("FAILED")
    minutes = next(r for r in report["results"] if r["metric"] == "watch_minutes")
    expected = results.set_index("metric").loc["watch_minutes"]
    assert minutes["lift_low"] == expected["lift_low"] and minutes["cuped_lift"] == expected["cuped_lift"]
    html = (streamloop_home / "reports" / "experiments" / f"{EXPERIMENT}.html").read_text()
    assert "Sample ratio mismatch" in html and "data:image/png;base64," in html


def test_list_shows_assigned_profiles_and_text_report_reads(streamloop_home):
    _warehouse_with_results(Truth(units=1000))
    listed = CliRunner().invoke(main, ["experiments", "list", "--json"])
    by_id = {e["experiment_id"]: e for e in json.loads(listed.output)}
    assert sum(by_id[EXPERIMENT]["variants"].values()) == 1000 and by_id["home_row_order"]["kind"] == "bandit"
    text = CliRunner().invoke(main, ["experiments", "report", EXPERIMENT])
    assert text.exit_code == 0 and "popularity vs ranker · watch_minutes" in text.output


def test_unknown_experiment_and_unbuilt_warehouse_fail_in_one_line(streamloop_home):
    unknown = CliRunner().invoke(main, ["experiments", "report", "nope"])
    assert unknown.exit_code == 1 and "unknown experiment 'nope'" in unknown.output
    unbuilt = CliRunner().invoke(main, ["experiments", "report", EXPERIMENT])
    assert unbuilt.exit_code == 1 and "run `streamloop build` first" in unbuilt.output


def test_bandit_report_reads_posteriors_and_policy_values(streamloop_home):
    from test_experiments_bandit import DESIGN, _pages

    from ml.experiments_bandit import readout

    pages, _ = _pages(np.random.default_rng(2), days=3, per_day=2000)
    result = readout(pages, DESIGN)
    path = get_settings().warehouse_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        write_table(con, "bandit_arms", result["posteriors"])
        write_table(con, "bandit_policy_values", result["policy_values"].assign(bandit_id=DESIGN.bandit_id))
    out = CliRunner().invoke(main, ["experiments", "report", "home_row_order", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert [a["arm"] for a in report["arms"]] == sorted(DESIGN.arms)
    best = max(report["arms"], key=lambda a: a["probability_best"])
    assert best["arm"] == "personal_first"
    assert any(line.startswith("policy always_personal_first:") for line in report["readout"])
    text = CliRunner().invoke(main, ["experiments", "report", "home_row_order"])
    assert text.exit_code == 0 and text.output.startswith("bandit home_row_order")


def test_report_of_an_experiment_without_units_reads_not_enough_data(streamloop_home):
    empty = pd.DataFrame(columns=["experiment_id", "variant", "metric", "n", "total", "total_squares",
                                  "pre_total", "pre_total_squares", "cross_total"])
    design = Design(EXPERIMENT, ("ranker", "popularity"), (50.0, 50.0), "top_picks_play_start_rate")
    results = analyze(empty, [design], pd.DataFrame(columns=["experiment_id", "variant", "units"]))
    path = get_settings().warehouse_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        write_table(con, "experiment_results", results)  # every number null in the warehouse
        write_table(con, "experiment_exposures", pd.DataFrame(
            {"experiment_id": ["home_top_picks_v1"], "exposure_status": ["unknown_experiment"]}))
    out = CliRunner().invoke(main, ["experiments", "report", EXPERIMENT])
    assert out.exit_code == 0, out.output
    assert "Not enough data to read this experiment" in out.output and "SRM: not tested (no units)" in out.output
    listed = CliRunner().invoke(main, ["experiments", "list"])
    assert "exposures of experiments no file defines (not counted): home_top_picks_v1 1" in listed.output
