# An App Runner service running one image from ECR: instance size, auto scaling, health check, X-Ray tracing,
# an access role that may only pull from the service's repository, and an instance role whose policy is
# exactly the service's declared uses.
#
# AWS closed App Runner to new customers on 2026-04-30; accounts without it use the ecs-express-service module
# (kind = "ecs-express" in stratus.toml).

data "aws_partition" "current" {}

# ------------------------------------------------------------------------------------------------ pulling the image

data "aws_iam_policy_document" "access_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["build.apprunner.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "access" {
  name               = "${var.name}-ecr-access"
  assume_role_policy = data.aws_iam_policy_document.access_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "access" {
  # GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullServiceImages"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]
    resources = [var.ecr_repository_arn]
  }
}

resource "aws_iam_role_policy" "access" {
  name   = "${var.name}-ecr-access"
  role   = aws_iam_role.access.id
  policy = data.aws_iam_policy_document.access.json
}

# ------------------------------------------------------------------------------------------------ running

data "aws_iam_policy_document" "instance_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["tasks.apprunner.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.instance_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "instance" {
  # X-Ray has no resource-level permissions: AWS requires Resource "*" for these two actions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
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

resource "aws_iam_role_policy" "instance" {
  name   = "${var.name}-policy"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_apprunner_auto_scaling_configuration_version" "this" {
  auto_scaling_configuration_name = var.name
  min_size                        = var.scaling.min_size
  max_size                        = var.scaling.max_size
  max_concurrency                 = var.scaling.max_concurrency
  tags                            = var.tags
}

resource "aws_apprunner_observability_configuration" "this" {
  observability_configuration_name = var.name

  trace_configuration {
    vendor = "AWSXRAY"
  }

  tags = var.tags
}

# ------------------------------------------------------------------------------------------------ network

# With subnet_ids (the service uses a database), outbound traffic leaves through the VPC: to the database's
# port and to the VPC endpoints, nothing else. Inbound requests still reach App Runner's public endpoint.
resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Attached to the App Runner VPC connector (aws_apprunner_vpc_connector.this), which checkov's graph does not follow.
  count       = length(var.subnet_ids) > 0 ? 1 : 0
  name        = "${var.name}-apprunner"
  description = "App Runner service ${var.name}: egress inside the VPC only"
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

resource "aws_apprunner_vpc_connector" "this" {
  count              = length(var.subnet_ids) > 0 ? 1 : 0
  vpc_connector_name = var.name
  subnets            = var.subnet_ids
  security_groups    = [aws_security_group.this[0].id]
  tags               = var.tags
}

# ------------------------------------------------------------------------------------------------ service

resource "aws_apprunner_service" "this" {
  service_name = var.name

  source_configuration {
    auto_deployments_enabled = false

    authentication_configuration {
      access_role_arn = aws_iam_role.access.arn
    }

    image_repository {
      image_identifier      = var.image_uri
      image_repository_type = "ECR"

      image_configuration {
        port                          = tostring(var.port)
        start_command                 = var.start_command
        runtime_environment_variables = var.environment_variables
      }
    }
  }

  instance_configuration {
    cpu               = tostring(var.cpu)
    memory            = tostring(var.memory)
    instance_role_arn = aws_iam_role.instance.arn
  }

  health_check_configuration {
    protocol            = upper(var.health_check.protocol)
    path                = upper(var.health_check.protocol) == "HTTP" ? var.health_check.path : null
    interval            = var.health_check.interval
    timeout             = var.health_check.timeout
    healthy_threshold   = var.health_check.healthy_threshold
    unhealthy_threshold = var.health_check.unhealthy_threshold
  }

  auto_scaling_configuration_arn = aws_apprunner_auto_scaling_configuration_version.this.arn

  dynamic "network_configuration" {
    for_each = length(var.subnet_ids) > 0 ? [aws_apprunner_vpc_connector.this[0].arn] : []
    content {
      egress_configuration {
        egress_type       = "VPC"
        vpc_connector_arn = network_configuration.value
      }
    }
  }

  observability_configuration {
    observability_enabled           = true
    observability_configuration_arn = aws_apprunner_observability_configuration.this.arn
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.access, aws_iam_role_policy.instance]
}

resource "aws_cloudwatch_metric_alarm" "server_errors" {
  alarm_name          = "${var.name}-5xx"
  alarm_description   = "${var.name} answered 5xx."
  namespace           = "AWS/AppRunner"
  metric_name         = "5xxStatusResponses"
  dimensions          = { ServiceName = aws_apprunner_service.this.service_name, ServiceID = aws_apprunner_service.this.service_id }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.server_errors_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
