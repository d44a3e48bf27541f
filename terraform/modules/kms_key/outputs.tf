output "arn" {
  description = "ARN of the key, for resources and IAM policies."
  value       = aws_kms_key.this.arn
}

output "alias" {
  description = "Alias of the key."
  value       = aws_kms_alias.this.name
}
