variable "bucket_name" {
  description = "Name of the state bucket (globally unique)."
  type        = string
}

variable "lock_table_name" {
  description = "Name of the DynamoDB table holding state locks."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days to keep previous versions of state files."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
