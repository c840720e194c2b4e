variable "name" {
  description = "Name of the table."
  type        = string
}

variable "hash_key" {
  description = "Partition key attribute."
  type        = string
}

variable "hash_key_type" {
  description = "Type of the partition key: S, N or B."
  type        = string
  default     = "S"
}

variable "range_key" {
  description = "Sort key attribute, if the table has one."
  type        = string
  default     = null
}

variable "range_key_type" {
  description = "Type of the sort key: S, N or B."
  type        = string
  default     = "S"
}

variable "ttl_attribute" {
  description = "Attribute holding each item's expiry (epoch seconds), if items expire."
  type        = string
  default     = null
}

variable "attributes" {
  description = "Every key attribute of the table and its indexes, name => type (S, N or B); empty: the table's keys."
  type        = map(string)
  default     = {}
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes: name, hash_key, range_key (or null) and projection_type (ALL or KEYS_ONLY)."
  type = list(object({
    name            = string
    hash_key        = string
    range_key       = optional(string)
    projection_type = optional(string, "ALL")
  }))
  default = []
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for encryption at rest; null uses the AWS owned key."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Whether DynamoDB refuses to delete the table."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
