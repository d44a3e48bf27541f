variable "environment" {
  type        = string
  description = "Environment name (envs/<environment>.tfvars); resources are named streamloop-<environment>-*."
  validation {
    condition     = can(regex("^[a-z][a-z0-9]*$", var.environment))
    error_message = "environment is a short lowercase name such as dev or prod."
  }
}

variable "region" {
  type        = string
  description = "AWS region of this environment."
  default     = "us-east-1"
}

variable "lake_bucket_name" {
  type        = string
  description = "Globally unique lake bucket name."
}

variable "artifact_bucket_name" {
  type        = string
  description = "Globally unique artifact bucket name."
}

variable "api_artifact_key" {
  type        = string
  description = "Key of the API zip (printed by `make package` / deploy/upload)."
}

variable "lifecycle_artifact_key" {
  type        = string
  description = "Key of the lifecycle zip."
}

variable "api_key_hashes" {
  type        = list(string)
  description = "App keys as sha256:<hex>; pass with TF_VAR_api_key_hashes, never commit them."
  sensitive   = true
}

variable "admin_key_hashes" {
  type        = list(string)
  description = "Admin keys as sha256:<hex>."
  sensitive   = true
  default     = []
}

variable "sender_domain" {
  type        = string
  description = "Domain lifecycle email is sent from."
}

variable "alarm_email" {
  type        = string
  description = "Who is emailed when an alarm fires (null: nobody)."
  default     = null
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed to call the API."
  default     = []
}

variable "messaging_contact_secret" {
  type        = string
  description = "HMAC key for contact hashes; pass with TF_VAR_messaging_contact_secret, never commit it."
  sensitive   = true
}

variable "messaging_unsubscribe_secret" {
  type        = string
  description = "HMAC key for unsubscribe tokens."
  sensitive   = true
}

variable "privacy_salt" {
  type        = string
  description = "Salt of the suppression list's hashes."
  sensitive   = true
}

variable "api_reserved_concurrency" {
  type        = number
  description = "Concurrency reserved for the API function (per environment, in envs/<env>.tfvars)."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of function and delivery logs (per environment, in envs/<env>.tfvars)."
}

variable "rejected_retention_days" {
  type        = number
  description = "Days rejected and ignored records are kept in the lake (per environment, in envs/<env>.tfvars)."
}

variable "deletion_protection" {
  type        = bool
  description = "Protect tables and keep buckets on destroy (per environment, in envs/<env>.tfvars)."
}
