"""Daily training, after the night's incremental builds have refreshed the feature tables."""
import dagster as dg

from orchestration.defs.ml.jobs import model_training_job

daily_model_training = dg.ScheduleDefinition(
    name="daily_model_training",
    job=model_training_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    description="Retrain, gate and promote every model once a day; scoring and publication follow "
                "(serving sensors).",
)
