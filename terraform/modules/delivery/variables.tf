variable "name" {
  type        = string
  description = "Prefix of the SES configuration set and the SNS feedback topic."
}

variable "sender_domain" {
  type        = string
  description = "Domain messages are sent from; its DKIM records (output dkim_tokens) go into DNS."
}

variable "kms_key_arn" {
  type        = string
  description = "Key encrypting the feedback topic (bounces and complaints carry email addresses)."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
