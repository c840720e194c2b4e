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

variable "notifications" {
  description = "Lambda functions invoked by object events: id, the function's ARN and name, event types (s3:ObjectCreated:*, ...), and key prefix and suffix (\"\" for none)."
  type = list(object({
    id            = string
    function_arn  = string
    function_name = string
    events        = list(string)
    prefix        = string
    suffix        = string
  }))
  default = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
