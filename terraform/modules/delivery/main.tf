# Email delivery through SES: a verified domain identity with DKIM, a configuration set that requires
# TLS and publishes delivery feedback (deliveries, bounces, complaints, opens, clicks) to an encrypted
# SNS topic. Push goes through SNS platform applications created per app store (docs/deploy.md).

resource "aws_sesv2_email_identity" "this" {
  email_identity         = var.sender_domain
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name
  tags                   = var.tags
}

resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = "${var.name}-messages"

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }

  tags = var.tags
}

resource "aws_sns_topic" "feedback" {
  name              = "${var.name}-delivery-feedback"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "feedback" {
  statement {
    sid       = "SesPublishesFeedback"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.feedback.arn]
    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "feedback" {
  arn    = aws_sns_topic.feedback.arn
  policy = data.aws_iam_policy_document.feedback.json
}

resource "aws_sesv2_configuration_set_event_destination" "feedback" {
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name
  event_destination_name = "feedback-to-sns"

  event_destination {
    enabled              = true
    matching_event_types = ["DELIVERY", "BOUNCE", "COMPLAINT", "OPEN", "CLICK", "REJECT"]
    sns_destination {
      topic_arn = aws_sns_topic.feedback.arn
    }
  }
}
