variable "name" {
  description = "Name of the secret (<project>-<env>-<name>)."
  type        = string
}

variable "description" {
  description = "What the secret is for."
  type        = string
  default     = ""
}

variable "generate_length" {
  description = "Length of the random value (letters and digits) Secrets Manager generates at the first apply; null: the value is set outside Terraform."
  type        = number
  default     = null

  validation {
    condition     = var.generate_length == null || (var.generate_length >= 32 && var.generate_length <= 4096)
    error_message = "generate_length must be 32-4096 or null."
  }
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored (7-30)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
