output "api_url" {
  description = "Base URL apps call (x-api-key header required)."
  value       = module.streamloop.api_url
}

output "lake_uri" {
  description = "STREAMLOOP_LAKE_URI for Dagster."
  value       = module.streamloop.lake_uri
}

output "registry_uri" {
  description = "STREAMLOOP_REGISTRY_URI for Dagster."
  value       = module.streamloop.registry_uri
}

output "online_store_table" {
  description = "STREAMLOOP_DYNAMODB_TABLE for Dagster."
  value       = module.streamloop.online_store_table
}

output "messaging_table" {
  description = "Messaging state table."
  value       = module.streamloop.messaging_table
}

output "artifact_bucket" {
  description = "Where to upload `make package` artifacts."
  value       = module.streamloop.artifact_bucket
}

output "lifecycle_function" {
  description = "Lifecycle function name."
  value       = module.streamloop.lifecycle_function
}

output "ses_dkim_tokens" {
  description = "DKIM tokens for the sender domain's DNS."
  value       = module.streamloop.ses_dkim_tokens
}

output "orchestrator_role_arn" {
  description = "Role the Dagster deployment runs as."
  value       = module.streamloop.orchestrator_role_arn
}
