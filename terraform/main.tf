# The root configuration, one for every environment. What differs between environments lives in
# envs/<env>.tfvars (sizes, retention, protection) and envs/<env>.s3.tfbackend (which state file):
#
#   terraform init -backend-config=envs/dev.s3.tfbackend
#   terraform apply -var-file=envs/dev.tfvars
#
# docs/deploy.md has the whole sequence.
module "streamloop" {
  source                       = "./modules/streamloop"
  environment                  = var.environment
  name_prefix                  = "streamloop-${var.environment}"
  region                       = var.region
  lake_bucket_name             = var.lake_bucket_name
  artifact_bucket_name         = var.artifact_bucket_name
  api_artifact_key             = var.api_artifact_key
  lifecycle_artifact_key       = var.lifecycle_artifact_key
  api_key_hashes               = var.api_key_hashes
  admin_key_hashes             = var.admin_key_hashes
  sender_domain                = var.sender_domain
  messaging_contact_secret     = var.messaging_contact_secret
  messaging_unsubscribe_secret = var.messaging_unsubscribe_secret
  privacy_salt                 = var.privacy_salt
  alarm_email                  = var.alarm_email
  cors_allowed_origins         = var.cors_allowed_origins
  api_reserved_concurrency     = var.api_reserved_concurrency
  log_retention_days           = var.log_retention_days
  rejected_retention_days      = var.rejected_retention_days
  deletion_protection          = var.deletion_protection
}
