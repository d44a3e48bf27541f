output "name" {
  description = "Delivery stream name (STREAMLOOP_FIREHOSE_<KIND>_STREAM)."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "arn" {
  description = "Delivery stream ARN (firehose:PutRecordBatch on it)."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}
