variable "name" {
  description = "Name of the bucket (globally unique)."
  type        = string
}

variable "versioning" {
  description = "Whether the bucket keeps every version of every object."
  type        = bool
  default     = false
}

variable "expire_days" {
  description = "Days after which objects (and noncurrent versions) expire; null keeps them."
  type        = number
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
