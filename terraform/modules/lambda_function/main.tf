# One Lambda function with its own role (nothing shared between functions), an encrypted log group with
# retention, X-Ray tracing, optional Function URL, and alarms on errors and throttles.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-function"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "runtime" {
  source_policy_documents = [var.policy_json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    #checkov:skip=CKV_AWS_111:X-Ray segment APIs do not support resource-level permissions.
    #checkov:skip=CKV_AWS_356:Same: X-Ray PutTraceSegments takes only "*".
    sid       = "SendTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DecryptOwnEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Logs hold request metadata only; 30 days (prod 90) bound how long personal data sits in logs.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No VPC: the function reaches only AWS APIs (DynamoDB, S3, Firehose, SES) over TLS; a VPC would add NAT cost and cold-start latency.
  #checkov:skip=CKV_AWS_272:Artifacts are content-addressed (sha256 in the key) and built reproducibly by `make package`; code signing would need a Signer profile per account.
  #checkov:skip=CKV_AWS_116:The API is invoked synchronously (no DLQ applies); the lifecycle schedule's retries and dead letters are configured on its EventBridge target.
  function_name                  = var.name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  package_type                   = var.package_type
  handler                        = var.package_type == "Zip" ? var.handler : null
  runtime                        = var.package_type == "Zip" ? "python3.11" : null
  architectures                  = ["x86_64"] # `make package` builds manylinux2014_x86_64 wheels
  s3_bucket                      = var.package_type == "Zip" ? var.artifact_bucket : null
  s3_key                         = var.package_type == "Zip" ? var.artifact_key : null
  image_uri                      = var.package_type == "Image" ? var.image_uri : null
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_s
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
  tags       = var.tags
}

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:Apps (phones, TVs, browsers) cannot sign IAM requests; the function itself rejects requests without a valid x-api-key (401) and admin routes without an admin key (403).
  count              = var.function_url ? 1 : 0
  function_name      = aws_lambda_function.this.function_name
  authorization_type = "NONE"

  cors {
    allow_origins = var.cors_allowed_origins
    allow_methods = ["GET", "POST"]
    allow_headers = ["content-type", "x-api-key"]
    max_age       = 600
  }
}

# One alarm per failure signal; both notify alarm_actions and clear themselves (ok_actions).
locals {
  alarms = {
    errors = {
      metric      = "Errors"
      threshold   = var.error_threshold
      description = "raised errors (unhandled exceptions or timeouts)."
    }
    throttles = {
      metric      = "Throttles"
      threshold   = 1
      description = "was throttled: reserved concurrency reached; callers see 429/retries."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "${var.name} ${each.value.description}"
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# The alarms were two resources before; existing state moves to the map without replacing them.
moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = aws_cloudwatch_metric_alarm.this["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.throttles
  to   = aws_cloudwatch_metric_alarm.this["throttles"]
}
