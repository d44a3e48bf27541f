output "api_url" {
  description = "Base URL apps call (x-api-key header required)."
  value       = module.api.function_url
}

output "lake_uri" {
  description = "STREAMLOOP_LAKE_URI for Dagster and local tools reading the production lake."
  value       = local.lake_uri
}

output "registry_uri" {
  description = "STREAMLOOP_REGISTRY_URI for training (Dagster) to publish models to."
  value       = "s3://${module.lake.name}/registry"
}

output "online_store_table" {
  description = "STREAMLOOP_DYNAMODB_TABLE for Dagster's publish step."
  value       = module.online_store.name
}

output "messaging_tables" {
  description = "Messaging store tables by role (ledger, outbox, contacts, queue)."
  value       = { for name, table in module.messaging_table : name => table.name }
}

output "artifact_bucket" {
  description = "Where `make package` artifacts are uploaded."
  value       = module.artifacts.name
}

output "lifecycle_function" {
  description = "Name of the lifecycle function (invoke by hand: aws lambda invoke)."
  value       = module.lifecycle.function_name
}

output "lifecycle_dead_letter_queue_url" {
  description = "Schedule ticks that failed every retry."
  value       = module.lifecycle_schedule.dead_letter_queue_url
}

output "delivery_feedback_topic_arn" {
  description = "SNS topic with SES delivery feedback."
  value       = module.delivery.feedback_topic_arn
}

output "ses_dkim_tokens" {
  description = "Publish as CNAMEs <token>._domainkey.<sender_domain> -> <token>.dkim.amazonses.com."
  value       = module.delivery.dkim_tokens
}

output "kms_key_arn" {
  description = "The environment's data key."
  value       = module.key.arn
}

output "orchestrator_role_arn" {
  description = "Role the Dagster deployment runs as (ECS task role or EC2 instance profile)."
  value       = aws_iam_role.orchestrator.arn
}
