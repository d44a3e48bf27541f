# dev: small, disposable (no deletion protection, short log retention, open CORS for local front ends).
module "streamloop" {
  source                   = "../../modules/streamloop"
  environment              = "dev"
  name_prefix              = "streamloop-dev"
  region                   = var.region
  lake_bucket_name         = var.lake_bucket_name
  artifact_bucket_name     = var.artifact_bucket_name
  api_artifact_key         = var.api_artifact_key
  lifecycle_artifact_key   = var.lifecycle_artifact_key
  api_key_hashes           = var.api_key_hashes
  admin_key_hashes         = var.admin_key_hashes
  sender_domain            = var.sender_domain
  alarm_email              = var.alarm_email
  cors_allowed_origins     = var.cors_allowed_origins
  api_reserved_concurrency = 10
  log_retention_days       = 14
  rejected_retention_days  = 30
  deletion_protection      = false
}
