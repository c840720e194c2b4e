variable "name" {
  description = "Name of the repository."
  type        = string
}

variable "mutable_tags" {
  description = "Wildcard filters of the tags that may move (rolling pointers); every other tag is immutable. Empty: all immutable."
  type        = list(string)
  default     = ["*-latest"]
}

variable "keep_images" {
  description = "How many of the most recent images to keep; older ones expire."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "Customer managed KMS key; null uses the AWS managed key for ECR."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
