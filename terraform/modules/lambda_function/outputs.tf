output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "Function ARN (EventBridge targets, permissions)."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "function_url" {
  description = "HTTPS endpoint apps call (null without a Function URL)."
  value       = var.function_url ? aws_lambda_function_url.this[0].function_url : null
}
