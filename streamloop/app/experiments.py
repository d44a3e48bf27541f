"""`streamloop experiments list|report` and the dbt seed that carries experiment definitions.

Definitions live only in `experiments/*.yml` and are read by the product's loader. The warehouse needs
them too (which variants exist, the window, the control): `experiment_seed_rows` derives
`dbt_project/seeds/experiment_variants.csv` from them, and a test fails when the committed seed drifts.

    python -m streamloop.app.experiments          # rewrite the seed after editing experiments/*.yml
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from functions.experiments import load_experiments
from streamloop.core.settings import DBT_PROJECT_DIR, REPO_ROOT

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


if __name__ == "__main__":
    SEED_PATH.write_text(seed_text())
    print(f"wrote {SEED_PATH}")
