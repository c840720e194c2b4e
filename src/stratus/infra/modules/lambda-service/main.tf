# The Lambda functions of one service: its HTTP function and the functions of its queue consumers, schedules
# and authorizer, all from the same package, sharing one execution role whose policy is exactly the service's
# declared uses plus writing its own logs and traces.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# ------------------------------------------------------------------------------------------------ role

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.this : "${group.arn}:*"]
  }

  # X-Ray has no resource-level permissions: AWS requires Resource "*" for these two actions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  statement {
    sid       = "SendFailedAsyncEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.async_dlq.arn]
  }

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# Network interfaces in the VPC: AWS's managed policy for it (its ec2 actions need Resource "*").
resource "aws_iam_role_policy_attachment" "vpc" {
  count      = length(var.subnet_ids) > 0 ? 1 : 0
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Attached to the functions through their dynamic vpc_config block, which checkov's graph does not follow.
  count       = length(var.subnet_ids) > 0 ? 1 : 0
  name        = "${var.name}-lambda"
  description = "Functions of ${var.name}: egress inside the VPC only"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to VPC endpoints"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.egress_cidr_blocks
  }

  egress {
    description = "PostgreSQL"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = var.egress_cidr_blocks
  }

  # Gateway endpoints (DynamoDB, S3) route to the services' public addresses, named by their prefix lists.
  dynamic "egress" {
    for_each = length(var.egress_prefix_list_ids) > 0 ? [var.egress_prefix_list_ids] : []
    content {
      description     = "HTTPS to gateway endpoints"
      from_port       = 443
      to_port         = 443
      protocol        = "tcp"
      prefix_list_ids = egress.value
    }
  }

  tags = var.tags
}

# ------------------------------------------------------------------------------------------------ functions

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment in stratus.toml (environments.<env>.log_retention_days); a year is a choice, not a default.
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest by default; a customer managed key adds cost and a key policy to manage.
  for_each          = var.functions
  name              = "/aws/lambda/${each.value.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# Where Lambda puts events of asynchronous invocations (schedules, InvocationType=Event) that failed every retry.
resource "aws_sqs_queue" "async_dlq" {
  name                      = var.async_dlq_name
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# The zip goes through the artifacts bucket: no 50 MB limit on a direct upload (Lambda takes up to 250 MB unzipped).
resource "aws_s3_object" "package" {
  #checkov:skip=CKV_AWS_186:The artifacts bucket encrypts every object with SSE-S3; a customer managed key adds a KMS request per deploy and a key policy to manage.
  count       = var.package_type == "Zip" && var.artifacts_bucket != null ? 1 : 0
  bucket      = var.artifacts_bucket
  key         = "lambda/${basename(var.filename)}"
  source      = var.filename
  source_hash = filemd5(var.filename)
  tags        = var.tags
}

# AWS's managed layers (stratus.toml [project] powertools = "layer"): each version ARN from the public parameter AWS
# publishes for it.
data "aws_ssm_parameter" "layer" {
  for_each = toset(var.package_type == "Zip" ? var.layer_parameters : [])
  name     = each.value
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Attached to a VPC only when the service uses a database (subnet_ids); otherwise it reaches only AWS APIs, and a VPC would need a NAT gateway or endpoints.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; packages are built reproducibly by stratus build from this repository.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is set where stratus.toml declares it (reserved_concurrency); reserving carves capacity out of the account's pool.
  #checkov:skip=CKV_AWS_173:The environment holds resource names and URLs, no secrets; Lambda encrypts it at rest with an AWS managed key.
  for_each      = var.functions
  function_name = each.value.function_name
  description   = each.value.description
  role          = aws_iam_role.this.arn
  package_type  = var.package_type
  architectures = [var.architecture]

  filename         = var.package_type == "Zip" && var.artifacts_bucket == null ? var.filename : null
  s3_bucket        = length(aws_s3_object.package) > 0 ? aws_s3_object.package[0].bucket : null
  s3_key           = length(aws_s3_object.package) > 0 ? aws_s3_object.package[0].key : null
  source_code_hash = var.package_type == "Zip" && var.filename != null ? filebase64sha256(var.filename) : null
  runtime          = var.package_type == "Zip" ? var.runtime : null
  handler          = var.package_type == "Zip" ? each.value.handler : null
  image_uri        = var.package_type == "Image" ? var.image_uri : null
  layers           = [for name in var.layer_parameters : data.aws_ssm_parameter.layer[name].insecure_value if var.package_type == "Zip"]

  dynamic "image_config" {
    for_each = var.package_type == "Image" ? [each.value.handler] : []
    content {
      command = [image_config.value]
    }
  }

  # A version to keep initialized: the HTTP function, when the service has provisioned concurrency.
  publish = each.key == "http" && var.provisioned_concurrency != null

  memory_size                    = var.memory_size
  timeout                        = coalesce(each.value.timeout, var.timeout)
  reserved_concurrent_executions = each.value.unreserved ? -1 : var.reserved_concurrent_executions

  environment {
    variables = var.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.async_dlq.arn
  }

  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [var.subnet_ids] : []
    content {
      subnet_ids         = vpc_config.value
      security_group_ids = [aws_security_group.this[0].id]
    }
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this, aws_iam_role_policy_attachment.vpc]
}

# The HTTP function's initialized environments: an alias on the published version, which the HTTP API invokes.
resource "aws_lambda_alias" "live" {
  count            = var.provisioned_concurrency == null ? 0 : 1
  name             = "live"
  description      = "The version with provisioned concurrency, invoked by the HTTP API"
  function_name    = aws_lambda_function.this["http"].function_name
  function_version = aws_lambda_function.this["http"].version
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  count                             = var.provisioned_concurrency == null ? 0 : 1
  function_name                     = aws_lambda_alias.live[0].function_name
  qualifier                         = aws_lambda_alias.live[0].name
  provisioned_concurrent_executions = var.provisioned_concurrency
}

# ------------------------------------------------------------------------------------------------ triggers

resource "aws_lambda_event_source_mapping" "this" {
  for_each                           = var.event_sources
  event_source_arn                   = each.value.queue_arn
  function_name                      = aws_lambda_function.this[each.value.function].arn
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window_in_seconds > 0 ? each.value.maximum_batching_window_in_seconds : null
  function_response_types            = each.value.function_response_types
  depends_on                         = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each            = var.schedules
  name                = var.functions[each.value.function].function_name
  description         = "Runs ${var.functions[each.value.function].function_name} on ${each.value.schedule_expression}"
  schedule_expression = each.value.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = var.schedules
  rule     = aws_cloudwatch_event_rule.this[each.key].name
  arn      = aws_lambda_function.this[each.value.function].arn
}

resource "aws_lambda_permission" "schedule" {
  for_each      = var.schedules
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

# ------------------------------------------------------------------------------------------------ alarms

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each            = var.functions
  alarm_name          = "${each.value.function_name}-errors"
  alarm_description   = "${each.value.function_name} raised errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.errors_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each            = var.functions
  alarm_name          = "${each.value.function_name}-throttles"
  alarm_description   = "${each.value.function_name} was throttled: concurrency limit reached."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.throttles_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "duration" {
  for_each            = var.functions
  alarm_name          = "${each.value.function_name}-duration"
  alarm_description   = "${each.value.function_name} ran close to its timeout (${coalesce(each.value.timeout, var.timeout)} s)."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = coalesce(each.value.timeout, var.timeout) * 1000 * var.duration_alarm_ratio
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "async_dlq_depth" {
  alarm_name          = "${var.async_dlq_name}-depth"
  alarm_description   = "Asynchronous invocations of ${var.name} failed every retry."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.async_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
