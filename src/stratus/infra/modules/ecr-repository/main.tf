# An ECR repository for one service's images: immutable tags (but the rolling *-latest pointer), scanned on
# push, KMS-encrypted, and a lifecycle policy that keeps the most recent images.

resource "aws_ecr_repository" "this" {
  #checkov:skip=CKV_AWS_51:Every tag is immutable except the rolling pointers in mutable_tags (<service>-<env>-latest, which stratus deploy moves); versioned tags can never be overwritten.
  name                 = var.name
  image_tag_mutability = length(var.mutable_tags) > 0 ? "IMMUTABLE_WITH_EXCLUSION" : "IMMUTABLE"
  force_delete         = false

  dynamic "image_tag_mutability_exclusion_filter" {
    for_each = var.mutable_tags
    content {
      filter      = image_tag_mutability_exclusion_filter.value
      filter_type = "WILDCARD"
    }
  }

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the ${var.keep_images} most recent images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.keep_images
      }
      action = { type = "expire" }
    }]
  })
}
