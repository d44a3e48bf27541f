# prod: protected tables and buckets, longer log retention, concurrency sized for ~20k events/s peaks
# (500 events per request, ~100 ms per request: 20000 / 500 * 0.1 s = 4 concurrent, x25 headroom for reads).
module "streamloop" {
  source                   = "../../modules/streamloop"
  environment              = "prod"
  name_prefix              = "streamloop-prod"
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
  api_reserved_concurrency = 100
  log_retention_days       = 90
  rejected_retention_days  = 90
  deletion_protection      = true
}
