output "service_arn" {
  description = "ARN of the Express service."
  value       = aws_ecs_express_gateway_service.this.service_arn
}

output "service_url" {
  description = "HTTPS URL of the service's public ingress path (ECS Express's *.on.aws endpoint)."
  value       = try("https://${trimsuffix(trimprefix(aws_ecs_express_gateway_service.this.ingress_paths[0].endpoint, "https://"), "/")}", null)
}

output "cluster_name" {
  description = "Name of the service's ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "task_role_arn" {
  description = "ARN of the role the service's tasks run as."
  value       = aws_iam_role.task.arn
}
