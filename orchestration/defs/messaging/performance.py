"""campaign_performance (CONTRACT §4): per campaign and period, the funnel rates and the treated-vs-holdout
effects, from the warehouse's sufficient statistics (`campaign_performance_stats`) and the one statistics
module (ml/stats.py). Plain Python over a DuckDB connection: the Dagster asset and tests call it alike."""
from __future__ import annotations

import math

import pandas as pd

from ml.stats import SampleStats, mean_difference, proportion_difference

COLUMNS = ["campaign_id", "period", "reach", "holdout", "control", "failed", "delivery_rate", "open_rate",
           "click_rate", "unsubscribe_rate", "plays_7d_treated", "plays_7d_holdout", "plays_7d_lift",
           "plays_7d_lift_low", "plays_7d_lift_high", "retention_30d_treated", "retention_30d_holdout",
           "retention_30d_n_treated", "retention_30d_n_holdout", "retention_30d_lift", "retention_30d_lift_low",
           "retention_30d_lift_high", "retention_30d_p_value", "retention_30d_note"]


def _rate(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


def campaign_performance(stats: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (campaign, period) from rows per (campaign, period, assignment)."""
    rows = []
    empty = pd.Series(0, index=stats.columns, dtype="float64")
    for (campaign_id, period), group in stats.groupby(["campaign_id", "period"], sort=True):
        by = {a: g.iloc[0] for a, g in group.groupby("assignment")}
        treated, holdout = by.get("treated", empty), by.get("holdout", empty)
        sent, assigned = float(treated["sent"]), float(treated["messages"])
        # outcomes are intention-to-treat: every treated message (sent or failed) against the holdout
        plays = mean_difference(
            SampleStats(int(assigned), float(treated["plays_7d_sum"]), float(treated["plays_7d_sum_squares"])),
            SampleStats(int(holdout["messages"]), float(holdout["plays_7d_sum"]),
                        float(holdout["plays_7d_sum_squares"])), alpha)
        retention = proportion_difference(int(treated["retained_30d"]), int(treated["mature_30d"]),
                                          int(holdout["retained_30d"]), int(holdout["mature_30d"]), alpha)
        rows.append({
            "campaign_id": campaign_id, "period": period, "reach": int(sent), "holdout": int(holdout["messages"]),
            "control": int(by["control"]["messages"]) if "control" in by else 0, "failed": int(treated["failed"]),
            "delivery_rate": _rate(treated["delivered"], sent), "open_rate": _rate(treated["opened"], sent),
            "click_rate": _rate(treated["clicked"], sent), "unsubscribe_rate": _rate(treated["unsubscribed"], sent),
            "plays_7d_treated": _rate(treated["plays_7d_sum"], assigned),
            "plays_7d_holdout": _rate(holdout["plays_7d_sum"], holdout["messages"]),
            "plays_7d_lift": plays.estimate, "plays_7d_lift_low": plays.low, "plays_7d_lift_high": plays.high,
            "retention_30d_treated": _rate(treated["retained_30d"], treated["mature_30d"]),
            "retention_30d_holdout": _rate(holdout["retained_30d"], holdout["mature_30d"]),
            "retention_30d_n_treated": int(treated["mature_30d"]), "retention_30d_n_holdout": int(holdout["mature_30d"]),
            "retention_30d_lift": retention.estimate, "retention_30d_lift_low": retention.low,
            "retention_30d_lift_high": retention.high, "retention_30d_p_value": retention.p_value,
            "retention_30d_note": retention.reason,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def write_campaign_performance(con) -> int:
    """Reads campaign_performance_stats, writes campaign_performance (replacing it); returns its rows."""
    stats = con.execute("select * from campaign_performance_stats").df()
    performance = campaign_performance(stats)
    con.execute("create or replace table campaign_performance as select * from performance")
    return len(performance)
