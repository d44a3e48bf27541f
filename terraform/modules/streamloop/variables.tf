variable "environment" {
  type        = string
  description = "Environment name (dev, prod); prefixes every resource name."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name, e.g. streamloop-prod."
}

variable "region" {
  type        = string
  description = "AWS region (STREAMLOOP_AWS_REGION)."
}

variable "lake_bucket_name" {
  type        = string
  description = "Globally unique name of the lake bucket (raw lake under lake/, model registry under registry/)."
}

variable "artifact_bucket_name" {
  type        = string
  description = "Globally unique name of the bucket `make package` artifacts are uploaded to."
}

variable "api_artifact_key" {
  type        = string
  description = "Key of the API function zip in the artifact bucket (dist/api-<sha256>.zip from `make package`)."
}

variable "lifecycle_artifact_key" {
  type        = string
  description = "Key of the lifecycle function zip in the artifact bucket."
}

variable "api_key_hashes" {
  type        = list(string)
  description = "App keys as sha256:<hex> (STREAMLOOP_API_KEYS); raw keys never enter Terraform state."
  sensitive   = true
  validation {
    condition     = alltrue([for key in var.api_key_hashes : can(regex("^sha256:[0-9a-f]{64}$", key))])
    error_message = "Give API keys as sha256:<64 hex digits> (docs/deploy.md \"Secrets and keys\")."
  }
}

variable "admin_key_hashes" {
  type        = list(string)
  description = "Admin keys as sha256:<hex> (STREAMLOOP_ADMIN_KEYS)."
  sensitive   = true
  default     = []
  validation {
    condition     = alltrue([for key in var.admin_key_hashes : can(regex("^sha256:[0-9a-f]{64}$", key))])
    error_message = "Give admin keys as sha256:<64 hex digits>."
  }
}

variable "sender_domain" {
  type        = string
  description = "Domain lifecycle email is sent from (SES identity)."
}

variable "lifecycle_schedule" {
  type        = string
  description = "How often the lifecycle function runs campaigns (EventBridge expression)."
  default     = "rate(15 minutes)"
}

variable "api_reserved_concurrency" {
  type        = number
  description = "Concurrency reserved for the API function."
  default     = 100
}

variable "log_retention_days" {
  type        = number
  description = "Retention of function and delivery logs."
  default     = 30
}

variable "rejected_retention_days" {
  type        = number
  description = "Rejected records (raw, may hold personal data) are deleted after this many days."
  default     = 90
}

variable "raw_events_retention_days" {
  type        = number
  description = "Raw events are deleted after this many days (the warehouse keeps what it built from them)."
  default     = 730
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed to call the API Function URL."
  default     = []
}

variable "alarm_email" {
  type        = string
  description = "Email subscribed to the alarm topic (null: no subscription)."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Protect tables and keep buckets on destroy (true in prod)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
