# A DynamoDB table: on-demand capacity, point-in-time recovery, encryption at rest, TTL and global secondary
# indexes where declared.

locals {
  attributes = length(var.attributes) > 0 ? var.attributes : merge(
    { (var.hash_key) = var.hash_key_type },
    var.range_key == null ? {} : { (var.range_key) = var.range_key_type },
  )
}

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key by default; set kms_key_arn to use a customer managed key (extra cost and key policy to manage).
  #checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) tables scale by themselves; Application Auto Scaling applies to provisioned capacity only.
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key
  range_key                   = var.range_key
  deletion_protection_enabled = var.deletion_protection

  # Every key attribute of the table and its indexes, once (var.attributes when the table has indexes).
  dynamic "attribute" {
    for_each = local.attributes
    content {
      name = attribute.key
      type = attribute.value
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.global_secondary_indexes
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.hash_key
      range_key       = global_secondary_index.value.range_key
      projection_type = global_secondary_index.value.projection_type
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute == null ? [] : [var.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  tags = var.tags
}
