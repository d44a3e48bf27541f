"""Experiments with known effects, simulated at the unit level, for checking the readout against truth.

Each unit has a pre-period value x ~ Gamma and an in-window value y = baseline + slope·x + noise (+ the
variant's effect), so CUPED has something to remove; a sample ratio mismatch is injected by dropping a
share of one variant's units after assignment (as lost exposures would). The output is what the
warehouse gives Python: sufficient statistics per (experiment, variant, metric) and units per variant.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.experiments import Design


@dataclass(frozen=True)
class Truth:
    units: int = 2000
    effect: float = 0.2  # added to the treatment's mean watch_minutes
    retention_base: float = 0.4
    retention_effect: float = 0.02
    slope: float = 0.8  # how strongly the pre-period predicts the window
    dropped_treatment_share: float = 0.0  # > 0 injects a sample ratio mismatch


DESIGN = Design("truth", ("control", "treatment"), (50.0, 50.0), "watch_minutes")


def simulate(rng: np.random.Generator, truth: Truth, experiment_id: str = "truth") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sums, units) frames for one simulated experiment with a 50/50 split."""
    is_treated = rng.random(truth.units) < 0.5
    if truth.dropped_treatment_share:
        kept = ~is_treated | (rng.random(truth.units) >= truth.dropped_treatment_share)
        is_treated = is_treated[kept]
    n = len(is_treated)
    pre = rng.gamma(2.0, 2.0, n)
    minutes = 1.0 + truth.slope * pre + rng.normal(0, 1.0, n) + truth.effect * is_treated
    pre_active = (rng.random(n) < truth.retention_base).astype(float)
    retained_p = truth.retention_base + 0.3 * (pre_active - truth.retention_base) + truth.retention_effect * is_treated
    retained = (rng.random(n) < retained_p).astype(float)
    rows = []
    for variant, mask in (("control", ~is_treated), ("treatment", is_treated)):
        for metric, y, x in (("watch_minutes", minutes, pre), ("is_retained_7d", retained, pre_active)):
            y, x = y[mask], x[mask]
            rows.append({"experiment_id": experiment_id, "variant": variant, "metric": metric, "n": int(mask.sum()),
                         "total": y.sum(), "total_squares": (y * y).sum(), "pre_total": x.sum(),
                         "pre_total_squares": (x * x).sum(), "cross_total": (x * y).sum()})
    units = pd.DataFrame([{"experiment_id": experiment_id, "variant": v, "units": int(m.sum())}
                          for v, m in (("control", ~is_treated), ("treatment", is_treated))])
    return pd.DataFrame(rows), units
