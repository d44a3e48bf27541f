variable "name" {
  type        = string
  description = "Function name (also names its role, log group and alarms)."
}

variable "description" {
  type        = string
  description = "What the function does."
}

variable "package_type" {
  type        = string
  description = "Zip (artifact in S3, from `make package`) or Image (container image in ECR, when dependencies exceed 250 MB unzipped)."
  default     = "Zip"
  validation {
    condition     = contains(["Zip", "Image"], var.package_type)
    error_message = "package_type must be Zip or Image."
  }
}

variable "handler" {
  type        = string
  description = "Entry point for Zip packages, e.g. functions.api.handler.handler."
  default     = null
}

variable "artifact_bucket" {
  type        = string
  description = "Bucket holding the Zip artifact (Zip only)."
  default     = null
}

variable "artifact_key" {
  type        = string
  description = "Key of the Zip artifact; content-addressed names (api-<sha256>.zip) make a new build a new deployment."
  default     = null
}

variable "image_uri" {
  type        = string
  description = "ECR image URI with digest (Image only)."
  default     = null
}

variable "memory_mb" {
  type        = number
  description = "Memory (and proportional CPU) in MB."
  default     = 1024
}

variable "timeout_s" {
  type        = number
  description = "Timeout in seconds."
  default     = 30
}

variable "reserved_concurrency" {
  type        = number
  description = "Concurrency reserved for (and capping) the function; protects DynamoDB and the account pool."
  default     = 50
}

variable "environment" {
  type        = map(string)
  description = "Environment variables: STREAMLOOP_* settings (streamloop/core/settings.py). No raw secrets: API keys as sha256:<hex>."
  default     = {}
}

variable "policy_json" {
  type        = string
  description = "Least-privilege IAM policy for this function's own data access (logging and tracing are added here)."
}

variable "kms_key_arn" {
  type        = string
  description = "Key encrypting the environment variables and the log group."
}

variable "log_retention_days" {
  type        = number
  description = "CloudWatch Logs retention."
  default     = 30
}

variable "function_url" {
  type        = bool
  description = "Create a Function URL (auth NONE: the app checks x-api-key; apps cannot sign IAM requests)."
  default     = false
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed to call the Function URL."
  default     = []
}

variable "alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs notified when an alarm fires."
  default     = []
}

variable "error_threshold" {
  type        = number
  description = "Errors per 5 minutes that raise the errors alarm."
  default     = 1
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
