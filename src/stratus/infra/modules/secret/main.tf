# A Secrets Manager secret a service reads (stratus.toml [secrets.<name>]). With generate_length, Secrets Manager
# generates its value when Terraform applies, and the value never reaches a .tf file, a plan or the state: an
# ephemeral resource produces it and a write-only argument stores it. Without, the value is set outside
# Terraform (aws secretsmanager put-secret-value); rotation works the same way, and services accept the
# previous version (AWSPREVIOUS) until the next one.

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV_AWS_149:Encrypted with the AWS managed key (aws/secretsmanager); a customer managed key adds cost and a key policy to manage, and only the roles granted in stratus.toml may read the value.
  #checkov:skip=CKV2_AWS_57:Rotated by putting a new value (put-secret-value); services accept the previous version until the next rotation, so no rotation function is needed.
  name                    = var.name
  description             = var.description
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

ephemeral "aws_secretsmanager_random_password" "this" {
  count               = var.generate_length == null ? 0 : 1
  password_length     = var.generate_length
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret_version" "this" {
  count                    = var.generate_length == null ? 0 : 1
  secret_id                = aws_secretsmanager_secret.this.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.this[0].random_password
  secret_string_wo_version = 1
}
