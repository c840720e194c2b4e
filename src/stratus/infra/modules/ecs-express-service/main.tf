# An Amazon ECS Express Mode service: ECS provisions the load balancer, target group, security groups and auto
# scaling. Three roles: the execution role (pull the image, write logs), the infrastructure role (AWS's managed
# policy for Express services), and the task role, whose policy is exactly the service's declared uses.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment in stratus.toml (environments.<env>.log_retention_days); a year is a choice, not a default.
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest by default; a customer managed key adds cost and a key policy to manage.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# ------------------------------------------------------------------------------------------------ execution role

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullServiceImages"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.name}-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# ------------------------------------------------------------------------------------------------ infrastructure role

data "aws_iam_policy_document" "infrastructure_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "infrastructure" {
  name               = "${var.name}-infrastructure"
  assume_role_policy = data.aws_iam_policy_document.infrastructure_assume.json
  tags               = var.tags
}

# ECS manages the load balancer, target groups, security groups and scaling policies of the service with it:
# AWS's managed policy for Express services is the documented way to grant exactly that.
resource "aws_iam_role_policy_attachment" "infrastructure" {
  role       = aws_iam_role.infrastructure.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSInfrastructureRoleforExpressGatewayServices"
}

# ------------------------------------------------------------------------------------------------ task role

resource "aws_iam_role" "task" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task" {
  count = length(var.policy_statements) > 0 ? 1 : 0

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "task" {
  count  = length(var.policy_statements) > 0 ? 1 : 0
  name   = "${var.name}-policy"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task[0].json
}

# ------------------------------------------------------------------------------------------------ service

resource "aws_ecs_express_gateway_service" "this" {
  service_name            = var.name
  cluster                 = aws_ecs_cluster.this.name
  execution_role_arn      = aws_iam_role.execution.arn
  infrastructure_role_arn = aws_iam_role.infrastructure.arn
  task_role_arn           = aws_iam_role.task.arn
  cpu                     = tostring(var.cpu)
  memory                  = tostring(var.memory)
  health_check_path       = var.health_check_path
  wait_for_steady_state   = true

  primary_container {
    image          = var.image_uri
    container_port = var.port
    command        = var.command

    aws_logs_configuration {
      log_group         = aws_cloudwatch_log_group.this.name
      log_stream_prefix = "service"
    }

    dynamic "environment" {
      for_each = var.environment_variables
      content {
        name  = environment.key
        value = environment.value
      }
    }
  }

  scaling_target {
    min_task_count            = var.scaling.min_task_count
    max_task_count            = var.scaling.max_task_count
    auto_scaling_metric       = "AVERAGE_CPU"
    auto_scaling_target_value = var.scaling.cpu_target_percent
  }

  tags = var.tags
  # Deleting a policy before the service drains leaves the service stuck in DRAINING (provider docs).
  depends_on = [aws_iam_role_policy.execution, aws_iam_role_policy_attachment.infrastructure, aws_iam_role_policy.task]
}
