# An S3 bucket: private (public access blocked, ACLs disabled, TLS only), encrypted, versioned where declared,
# with a lifecycle that cleans up incomplete uploads and expires objects where declared, and the notifications
# of Lambda functions declared in stratus.toml (buckets.<name>.notify), each with its permission to be invoked.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket per bucket; use CloudTrail S3 data events for an audit trail.
  #checkov:skip=CKV_AWS_144:The stack is single-Region; cross-Region replication is a disaster-recovery choice, not a default.
  #checkov:skip=CKV2_AWS_62:Notifications are configured (aws_s3_bucket_notification.this) where stratus.toml declares a consumer (buckets.<name>.notify); elsewhere they would go nowhere.
  #checkov:skip=CKV_AWS_145:Encrypted at rest with SSE-S3 (AES-256); SSE-KMS adds a KMS request per object operation and a key to manage.
  #checkov:skip=CKV_AWS_21:Versioning follows stratus.toml (buckets.<name>.versioning); it is off only where declared off.
  bucket        = var.name
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = var.versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  dynamic "rule" {
    for_each = var.expire_days == null ? [] : [var.expire_days]
    content {
      id     = "expire-objects"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }

      noncurrent_version_expiration {
        noncurrent_days = rule.value
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# ------------------------------------------------------------------------------------------------ notifications

# S3 invokes each function asynchronously, as this bucket in this account only.
resource "aws_lambda_permission" "notify" {
  for_each       = { for n in var.notifications : n.id => n }
  statement_id   = "AllowS3-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = each.value.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.this.arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_s3_bucket_notification" "this" {
  count  = length(var.notifications) > 0 ? 1 : 0
  bucket = aws_s3_bucket.this.id

  dynamic "lambda_function" {
    for_each = var.notifications
    content {
      id                  = lambda_function.value.id
      lambda_function_arn = lambda_function.value.function_arn
      events              = lambda_function.value.events
      filter_prefix       = lambda_function.value.prefix != "" ? lambda_function.value.prefix : null
      filter_suffix       = lambda_function.value.suffix != "" ? lambda_function.value.suffix : null
    }
  }

  # S3 checks that it may invoke each function when the configuration is saved.
  depends_on = [aws_lambda_permission.notify]
}
