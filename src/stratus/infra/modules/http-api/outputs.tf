output "api_id" {
  description = "ID of the API."
  value       = aws_apigatewayv2_api.this.id
}

output "execution_arn" {
  description = "Execution ARN of the API (for Lambda permissions)."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "api_endpoint" {
  description = "The execute-api endpoint (https://<id>.execute-api.<region>.amazonaws.com)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "endpoint" {
  description = "Where clients call the API: the custom domain when one is set, else the execute-api endpoint."
  value       = var.domain_name == null ? aws_apigatewayv2_api.this.api_endpoint : "https://${var.domain_name}"
}

output "certificate_arn" {
  description = "ARN of the custom domain's certificate, if any."
  value       = try(aws_acm_certificate.this[0].arn, null)
}

output "access_log_group_name" {
  description = "Log group of the access logs."
  value       = aws_cloudwatch_log_group.access.name
}
