# The one HTTP API in front of every service: path routes to Lambda (payload format 2.0) and HTTP proxy
# (container) integrations, a Lambda REQUEST authorizer on protected routes, CORS, stage throttling, JSON
# access logs, and an optional custom domain (ACM certificate validated in Route 53, alias record).

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = var.description

  dynamic "cors_configuration" {
    for_each = var.cors == null ? [] : [var.cors]
    content {
      allow_origins     = cors_configuration.value.allow_origins
      allow_methods     = cors_configuration.value.allow_methods
      allow_headers     = cors_configuration.value.allow_headers
      expose_headers    = cors_configuration.value.expose_headers
      max_age           = cors_configuration.value.max_age
      allow_credentials = cors_configuration.value.allow_credentials
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment in stratus.toml (environments.<env>.log_retention_days); a year is a choice, not a default.
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest by default; a customer managed key adds cost and a key policy to manage.
  name              = "/aws/apigateway/${var.name}/access"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  # Without a declared throttle the account's Regional limits apply.
  dynamic "default_route_settings" {
    for_each = var.throttle == null ? [] : [var.throttle]
    content {
      throttling_rate_limit  = default_route_settings.value.rate_limit
      throttling_burst_limit = default_route_settings.value.burst_limit
    }
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      path               = "$context.path"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
    })
  }

  tags = var.tags
}

# ------------------------------------------------------------------------------------------------ integrations

resource "aws_apigatewayv2_integration" "lambda" {
  for_each               = var.lambda_integrations
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = each.value.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = each.value.timeout_milliseconds
}

resource "aws_apigatewayv2_integration" "http" {
  for_each             = var.http_integrations
  api_id               = aws_apigatewayv2_api.this.id
  integration_type     = "HTTP_PROXY"
  integration_method   = "ANY"
  integration_uri      = each.value.uri
  timeout_milliseconds = each.value.timeout_milliseconds
}

resource "aws_lambda_permission" "integration" {
  for_each      = var.lambda_integrations
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  qualifier     = each.value.qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}

# ------------------------------------------------------------------------------------------------ authorizers

# Lambda REQUEST authorizers, payload format 2.0 with simple responses. A request without an authorizer's
# identity sources is refused with 401 before the function is called. An authorizer without identity sources (the
# anonymous one of rate-limited public routes) is called for every request; AWS needs them only for caching.
resource "aws_apigatewayv2_authorizer" "this" {
  for_each                          = var.authorizers
  api_id                            = aws_apigatewayv2_api.this.id
  name                              = "${var.name}-${each.key}"
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = each.value.invoke_arn
  authorizer_payload_format_version = "2.0"
  enable_simple_responses           = true
  authorizer_result_ttl_in_seconds  = each.value.ttl
  identity_sources                  = length(each.value.identity_sources) > 0 ? each.value.identity_sources : null
}

resource "aws_lambda_permission" "authorizer" {
  for_each      = var.authorizers
  statement_id  = "AllowHttpApiAuthorizer-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/authorizers/${aws_apigatewayv2_authorizer.this[each.key].id}"
}

# ------------------------------------------------------------------------------------------------ routes

locals {
  integration_ids = merge(
    { for key, integration in aws_apigatewayv2_integration.lambda : key => integration.id },
    { for key, integration in aws_apigatewayv2_integration.http : key => integration.id },
  )
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:Authorization is per route from stratus.toml: CUSTOM (the authorizer) for services with auth, NONE for public services and for CORS preflights, which browsers send without credentials.
  for_each           = var.routes
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.key
  target             = "integrations/${local.integration_ids[each.value.integration]}"
  authorization_type = each.value.authorizer == null ? "NONE" : "CUSTOM"
  authorizer_id      = each.value.authorizer == null ? null : aws_apigatewayv2_authorizer.this[each.value.authorizer].id
}

# ------------------------------------------------------------------------------------------------ custom domain

resource "aws_acm_certificate" "this" {
  count             = var.domain_name == null ? 0 : 1
  domain_name       = var.domain_name
  validation_method = "DNS"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for option in try(aws_acm_certificate.this[0].domain_validation_options, []) : option.domain_name => option
  }
  zone_id         = var.zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count                   = var.domain_name == null ? 0 : 1
  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}

resource "aws_apigatewayv2_domain_name" "this" {
  count       = var.domain_name == null ? 0 : 1
  domain_name = var.domain_name

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.this[0].certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "this" {
  count       = var.domain_name == null ? 0 : 1
  api_id      = aws_apigatewayv2_api.this.id
  domain_name = aws_apigatewayv2_domain_name.this[0].id
  stage       = aws_apigatewayv2_stage.this.id
}

resource "aws_route53_record" "alias" {
  count   = var.domain_name == null ? 0 : 1
  zone_id = var.zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.this[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.this[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}

# ------------------------------------------------------------------------------------------------ alarms

resource "aws_cloudwatch_metric_alarm" "server_errors" {
  alarm_name          = "${var.name}-5xx"
  alarm_description   = "The HTTP API answered 5xx (integration errors, timeouts)."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.this.id, Stage = "$default" }
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
