output "identity_arn" {
  description = "ARN of the SES sending identity (IAM: ses:SendEmail on it)."
  value       = aws_sesv2_email_identity.this.arn
}

output "configuration_set_name" {
  description = "Configuration set every send names, so feedback reaches the topic."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "configuration_set_arn" {
  description = "ARN of the configuration set (IAM condition for sends)."
  value       = aws_sesv2_configuration_set.this.arn
}

output "feedback_topic_arn" {
  description = "SNS topic with delivery, bounce, complaint, open and click notifications."
  value       = aws_sns_topic.feedback.arn
}

output "dkim_tokens" {
  description = "DKIM CNAME tokens to publish in the sender domain's DNS."
  value       = aws_sesv2_email_identity.this.dkim_signing_attributes[0].tokens
}
