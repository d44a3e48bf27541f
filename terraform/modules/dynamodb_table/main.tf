# On-demand (no capacity to plan for bursty event traffic), TTL on `expires_at`, point-in-time recovery
# (35 days of restores, docs/deploy.md "Backups"), encrypted with the environment's key.

locals {
  # every key attribute of the table and its indexes is declared once (DynamoDB rejects unused or repeated ones)
  index_attributes = [
    for name in distinct(flatten([for index in var.global_secondary_indexes : [index.hash_key, index.range_key]])) :
    name if name != var.hash_key && name != var.range_key
  ]
}

resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key
  range_key                   = var.range_key
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = var.hash_key
    type = "S"
  }

  dynamic "attribute" {
    for_each = var.range_key == null ? [] : [var.range_key]
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "attribute" {
    for_each = local.index_attributes
    content {
      name = attribute.value
      type = "S"
    }
  }

  # sparse indexes: an item is in an index only while it carries the index's hash key attribute
  dynamic "global_secondary_index" {
    for_each = var.global_secondary_indexes
    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null
    }
  }

  ttl {
    attribute_name = var.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}
