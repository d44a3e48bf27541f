variable "name" {
  type        = string
  description = "Globally unique bucket name."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key that encrypts every object (SSE-KMS with a bucket key to keep KMS request costs down)."
}

variable "expire_prefixes" {
  type        = map(number)
  description = "Retention: objects under each prefix are deleted this many days after they were written (e.g. rejected/ = 90)."
  default     = {}
}

variable "infrequent_access_after_days" {
  type        = number
  description = "Current objects move to S3 Intelligent-Tiering after this many days (closed lake partitions are read rarely)."
  default     = 30
}

variable "noncurrent_version_days" {
  type        = number
  description = "Replaced or deleted object versions (e.g. small files removed by compaction) are kept this long for recovery."
  default     = 30
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` empty the bucket (dev only)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
