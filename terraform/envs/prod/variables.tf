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
