"""Model training as one job: train, check and promote churn, LTV and the recommender.

A failed blocking check stops only its own model's promotion (the other models are not its
downstream); the run then ends failed, which is how the UI shows that a worse model was held back.
"""
import dagster as dg

from orchestration.defs.ml.assets import GROUP

model_training_job = dg.define_asset_job(
    "model_training",
    selection=dg.AssetSelection.groups(GROUP),
    description="Train every model on the latest features, gate each with its blocking check, promote "
                "those that pass to `production`.",
)
