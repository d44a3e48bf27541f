variable "name" {
  type        = string
  description = "Delivery stream name; the API function's STREAMLOOP_FIREHOSE_<KIND>_STREAM setting names it."
}

variable "kind" {
  type        = string
  description = "Lake kind the stream lands: events, rejected or ignored (streamloop/core/lake.py layout)."
  validation {
    condition     = contains(["events", "rejected", "ignored"], var.kind)
    error_message = "kind must be events, rejected or ignored."
  }
}

variable "bucket_arn" {
  type        = string
  description = "Lake bucket ARN."
}

variable "lake_prefix" {
  type        = string
  description = "Lake root inside the bucket (STREAMLOOP_LAKE_URI = s3://bucket/<lake_prefix>)."
  default     = "lake"
}

variable "kms_key_arn" {
  type        = string
  description = "Key encrypting records at rest in the stream, the Glue schema's data and the logs."
}

variable "buffer_size_mb" {
  type        = number
  description = "Firehose writes a file when this much has arrived (64–128 MB gives healthy Parquet files)."
  default     = 128
}

variable "buffer_interval_s" {
  type        = number
  description = "…or when this long has passed since the first buffered record (max 900)."
  default     = 900
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the stream's delivery-error logs."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
