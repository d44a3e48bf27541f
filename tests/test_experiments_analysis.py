"""ml.experiments: result rows and readout words from sufficient statistics with known truth."""
import math

import numpy as np
import pandas as pd

from ml import stats
from ml.experiments import RESULT_COLUMNS, Design, analyze, readout
from ml.experiments_truth import DESIGN, Truth, simulate


def test_results_carry_the_stats_module_answers_for_each_metric():
    sums, units = simulate(np.random.default_rng(1), Truth(units=4000, effect=0.5))
    results = analyze(sums, [DESIGN], units)
    assert list(results.columns) == RESULT_COLUMNS
    assert set(results["metric"]) == {"watch_minutes", "is_retained_7d"} and set(results["variant"]) == {"treatment"}
    minutes = results[results["metric"] == "watch_minutes"].iloc[0]
    by = {(r["variant"], r["metric"]): r for r in sums.to_dict("records")}
    t, c = (stats.CovariateStats(*(by[(v, "watch_minutes")][k] for k in
                                   ("n", "total", "total_squares", "pre_total", "pre_total_squares", "cross_total")))
            for v in ("treatment", "control"))
    plain, cuped = stats.mean_difference(t.metric, c.metric), stats.cuped_difference(t, c)
    assert (minutes["lift"], minutes["lift_low"], minutes["p_value"]) == (plain.estimate, plain.low, plain.p_value)
    assert minutes["cuped_lift_low"] == cuped.difference.low and minutes["cuped_interval_reduction"] > 0.5
    assert minutes["sequential_low"] < minutes["lift_low"] and minutes["is_primary"]
    assert minutes["lift_low"] < 0.5 < minutes["lift_high"]  # the true effect
    assert minutes["p_value_holm"] >= minutes["p_value"] and not minutes["is_srm"]
    retained = results[results["metric"] == "is_retained_7d"].iloc[0]
    assert retained["lift_low"] == stats.proportion_difference(
        round(by[("treatment", "is_retained_7d")]["total"]), by[("treatment", "is_retained_7d")]["n"],
        round(by[("control", "is_retained_7d")]["total"]), by[("control", "is_retained_7d")]["n"]).low


def test_injected_sample_ratio_mismatch_is_flagged_and_said_first():
    sums, units = simulate(np.random.default_rng(2), Truth(units=6000, dropped_treatment_share=0.1))
    results = analyze(sums, [DESIGN], units)
    assert results["is_srm"].all() and (results["srm_p_value"] < 0.001).all()
    assert readout(results, "truth")[0].startswith("Sample ratio mismatch")


def test_harmed_guardrail_and_a_clear_winner_in_words():
    sums, units = simulate(np.random.default_rng(3), Truth(units=8000, effect=-0.4))
    words = readout(analyze(sums, [DESIGN], units), "truth", {"exposures_after_the_end": 3})
    assert "3 exposures were not counted: exposures after the end." in words
    assert any(w.startswith("Guardrail harmed: watch_minutes in treatment") for w in words)
    assert any("worse than control" in w for w in words)


def test_no_exposures_one_variant_and_zero_variance_read_not_enough_data():
    absent = Design("absent", ("a", "b"), (1.0, 1.0), "plays")
    empty_units = pd.DataFrame(columns=["experiment_id", "variant", "units"])
    empty_sums = pd.DataFrame(columns=["experiment_id", "variant", "metric", "n", "total", "total_squares",
                                       "pre_total", "pre_total_squares", "cross_total"])
    results = analyze(empty_sums, [absent], empty_units)
    assert len(results) == 1 and not results["has_enough_data"].any()
    assert results.iloc[0]["note"].startswith("not enough data")
    assert readout(results, "absent")[0].startswith("Not enough data")

    one_variant = pd.DataFrame([{"experiment_id": "absent", "variant": "a", "metric": "plays", "n": 50,
                                 "total": 60.0, "total_squares": 100.0, "pre_total": 0.0, "pre_total_squares": 0.0,
                                 "cross_total": 0.0}])
    row = analyze(one_variant, [absent], empty_units).iloc[0]
    assert row["note"] == "not enough data: no exposed units in variant b" and math.isnan(row["lift"])

    flat = pd.concat([one_variant.assign(total_squares=72.0, total=60.0, n=50)] * 2, ignore_index=True)
    flat.loc[1, "variant"] = "b"
    flat["total_squares"] = flat["total"] ** 2 / flat["n"]  # every unit the same value
    row = analyze(flat, [absent], empty_units).iloc[0]
    assert row["note"] == "not enough data: zero variance in both groups" and not row["has_enough_data"]


def test_overlapping_experiments_are_checked_for_independent_assignment():
    from ml.experiments import overlap_checks

    def crosstab(counts):
        return pd.DataFrame([{"experiment_id": "a", "variant": v, "other_experiment_id": other,
                              "other_variant": w, "profiles": n} for (other, v, w), n in counts.items()])

    overlaps = crosstab({("b", "x", "p"): 250, ("b", "x", "q"): 251, ("b", "y", "p"): 249, ("b", "y", "q"): 250,
                         ("c", "x", "p"): 400, ("c", "x", "q"): 100, ("c", "y", "p"): 100, ("c", "y", "q"): 400})
    checks = {c["other_experiment_id"]: c for c in overlap_checks(overlaps, "a")}
    assert checks["b"]["profiles"] == 1000 and not checks["b"]["is_dependent"] and checks["b"]["p_value"] > 0.9
    assert checks["c"]["is_dependent"] and checks["c"]["p_value"] < 1e-6
    sums, units = simulate(np.random.default_rng(5), Truth(units=2000))
    words = readout(analyze(sums, [DESIGN], units), "truth", overlaps=list(checks.values()))
    assert any(w.startswith("Shares 1,000 profiles with b; the assignments are independent") for w in words)
    assert any(w.startswith("Shares 1,000 profiles with c and the assignments are not independent") for w in words)
