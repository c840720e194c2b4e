output "service_arn" {
  description = "ARN of the App Runner service."
  value       = aws_apprunner_service.this.arn
}

output "service_id" {
  description = "ID of the App Runner service."
  value       = aws_apprunner_service.this.service_id
}

output "service_url" {
  description = "HTTPS URL of the service (App Runner's default domain)."
  value       = "https://${aws_apprunner_service.this.service_url}"
}

output "status" {
  description = "Status of the service (RUNNING when healthy)."
  value       = aws_apprunner_service.this.status
}

output "instance_role_arn" {
  description = "ARN of the role the service runs as."
  value       = aws_iam_role.instance.arn
}

output "security_group_id" {
  description = "Security group of the VPC connector when the service reaches a VPC, else null."
  value       = try(aws_security_group.this[0].id, null)
}
