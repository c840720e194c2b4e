output "secret_arn" {
  description = "ARN of the secret: what services read (<NAME>_SECRET_ARN) and their roles are granted."
  value       = aws_secretsmanager_secret.this.arn
}

output "secret_name" {
  description = "Name of the secret."
  value       = aws_secretsmanager_secret.this.name
}
