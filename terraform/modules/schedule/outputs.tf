output "rule_arn" {
  description = "ARN of the schedule rule."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "dead_letter_queue_url" {
  description = "Ticks that failed every retry land here."
  value       = aws_sqs_queue.dead_letters.id
}
