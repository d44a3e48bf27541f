variable "name" {
  type        = string
  description = "Alias suffix of the key (alias/<name>); one key per environment encrypts every store of personal data."
}

variable "service_principals" {
  type        = list(string)
  description = "AWS services that encrypt with this key on the account's behalf (logs, sns, firehose …)."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
