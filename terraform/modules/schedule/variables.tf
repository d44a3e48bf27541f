variable "name" {
  type        = string
  description = "Rule name."
}

variable "schedule_expression" {
  type        = string
  description = "EventBridge schedule, e.g. rate(15 minutes) or cron(0 * * * ? *)."
}

variable "function_name" {
  type        = string
  description = "Lambda function invoked on each tick (it receives the EventBridge \"Scheduled Event\")."
}

variable "function_arn" {
  type        = string
  description = "ARN of that function."
}

variable "kms_key_arn" {
  type        = string
  description = "Key encrypting the dead-letter queue."
}

variable "maximum_retry_attempts" {
  type        = number
  description = "Retries of a failed invocation before the event goes to the dead-letter queue."
  default     = 2
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
