# Kinesis Data Firehose lands collector records in the lake in large files whatever the request rate.
# The collector sends one JSON line per record with the lake's RAW_SCHEMA columns (received_at in epoch
# milliseconds); Firehose converts to Parquet with the Glue schema below, partitions by the record's own
# received date, and names files `<kind>/received_date=YYYY-MM-DD/batch-<firehose object name>.parquet`,
# the layout streamloop/core/lake.py and the dbt sources read.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  columns = concat([
    { name = "batch_id", type = "string" },
    { name = "record_index", type = "int" },
    { name = "received_at", type = "timestamp" },
    { name = "source", type = "string" },
    { name = "raw", type = "string" },
  ], var.kind == "events" ? [] : [{ name = "reason", type = "string" }])
}

resource "aws_glue_catalog_database" "this" {
  name = replace("${var.name}_schema", "-", "_")
}

resource "aws_glue_catalog_table" "this" {
  name          = var.kind
  database_name = aws_glue_catalog_database.this.name

  storage_descriptor {
    dynamic "columns" {
      for_each = local.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Delivery-error logs only; the records themselves go to the error prefix in the lake bucket.
  name              = "/aws/kinesisfirehose/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "this" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.this.name
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-delivery"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "delivery" {
  statement {
    sid       = "WriteOwnLakeKind"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.bucket_arn}/${var.lake_prefix}/${var.kind}/*", "${var.bucket_arn}/firehose-errors/${var.kind}/*"]
  }
  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.bucket_arn]
  }
  statement {
    sid     = "ReadConversionSchema"
    actions = ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"]
    resources = [
      "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:catalog",
      "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:database/${aws_glue_catalog_database.this.name}",
      "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/${aws_glue_catalog_database.this.name}/${aws_glue_catalog_table.this.name}",
    ]
  }
  statement {
    sid       = "EncryptLakeObjects"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "LogDeliveryErrors"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-delivery"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.delivery.json
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  name        = var.name
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = var.kms_key_arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.this.arn
    bucket_arn          = var.bucket_arn
    prefix              = "${var.lake_prefix}/${var.kind}/received_date=!{partitionKeyFromQuery:received_date}/batch-"
    error_output_prefix = "firehose-errors/${var.kind}/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/"
    file_extension      = ".parquet"
    buffering_size      = var.buffer_size_mb
    buffering_interval  = var.buffer_interval_s
    kms_key_arn         = var.kms_key_arn

    dynamic_partitioning_configuration {
      enabled = true
    }

    processing_configuration {
      enabled = true
      processors {
        type = "MetadataExtraction"
        parameters {
          parameter_name  = "MetadataExtractionQuery"
          parameter_value = "{received_date: (.received_at / 1000 | floor | strftime(\"%Y-%m-%d\"))}"
        }
        parameters {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }
      }
    }

    data_format_conversion_configuration {
      input_format_configuration {
        deserializer {
          hive_json_ser_de {
            timestamp_formats = ["millis"]
          }
        }
      }
      output_format_configuration {
        serializer {
          parquet_ser_de {
            compression = "SNAPPY"
          }
        }
      }
      schema_configuration {
        database_name = aws_glue_catalog_database.this.name
        table_name    = aws_glue_catalog_table.this.name
        role_arn      = aws_iam_role.this.arn
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.this.name
      log_stream_name = aws_cloudwatch_log_stream.this.name
    }
  }

  depends_on = [aws_iam_role_policy.this]
  tags       = var.tags
}
