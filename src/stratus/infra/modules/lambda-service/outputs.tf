output "role_arn" {
  description = "ARN of the execution role shared by the service's functions."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "function_names" {
  description = "AWS name of each function, by key."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "function_arns" {
  description = "ARN of each function, by key."
  value       = { for key, function in aws_lambda_function.this : key => function.arn }
}

output "invoke_arns" {
  description = "Invoke ARN of each function, by key (for API Gateway integrations and authorizers): the HTTP function's alias live when it has provisioned concurrency."
  value = {
    for key, function in aws_lambda_function.this :
    key => key == "http" && length(aws_lambda_alias.live) > 0 ? aws_lambda_alias.live[0].invoke_arn : function.invoke_arn
  }
}

output "qualifiers" {
  description = "The alias each function is invoked through, by key (live for an HTTP function with provisioned concurrency), else null."
  value       = { for key, function in aws_lambda_function.this : key => key == "http" && length(aws_lambda_alias.live) > 0 ? "live" : null }
}

output "log_group_names" {
  description = "Log group of each function, by key."
  value       = { for key, group in aws_cloudwatch_log_group.this : key => group.name }
}

output "async_dlq_arn" {
  description = "ARN of the queue receiving failed asynchronous invocations."
  value       = aws_sqs_queue.async_dlq.arn
}

output "security_group_id" {
  description = "Security group of the functions when they are in a VPC, else null."
  value       = try(aws_security_group.this[0].id, null)
}
