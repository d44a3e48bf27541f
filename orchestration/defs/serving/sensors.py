"""Serving follows training: score once a training run ends, publish once scoring succeeds.

Scoring also follows a *failed* training run: a blocked check means "keep the current production
model", and the fresh features still deserve fresh scores from it (and another model of the same
run may have been promoted).
"""
import dagster as dg

from orchestration.defs.ml.jobs import model_training_job
from orchestration.defs.serving.jobs import batch_scoring_job, publication_job


def _follow(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=context.dagster_run.run_id, tags={"triggered_by_run": context.dagster_run.run_id})


scoring_after_training = dg.run_status_sensor(
    name="scoring_after_training", run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[model_training_job], request_job=batch_scoring_job,
    description="Score with the production models after a training run succeeds.")(_follow)

scoring_after_blocked_training = dg.run_status_sensor(
    name="scoring_after_blocked_training", run_status=dg.DagsterRunStatus.FAILURE,
    monitored_jobs=[model_training_job], request_job=batch_scoring_job,
    description="Score with the (unchanged) production models after a training run fails or is blocked.")(_follow)

publication_after_scoring = dg.run_status_sensor(
    name="publication_after_scoring", run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[batch_scoring_job], request_job=publication_job,
    description="Publish to the online store after batch scoring succeeds.")(_follow)
