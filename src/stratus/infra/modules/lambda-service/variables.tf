# ------------------------------------------------------------------------------------------------ service

variable "name" {
  description = "AWS name of the service (<project>-<env>-<service>): what its policy, security group and alarms are named after."
  type        = string
}

variable "role_name" {
  description = "Name of the role the service runs as (stratus: <project>-<env>-<service>-role)."
  type        = string
}

variable "async_dlq_name" {
  description = "Name of the queue receiving asynchronous invocations that failed every retry (stratus: <name>-async-dlq)."
  type        = string
}

variable "functions" {
  description = "The service's functions by key (http, consumer-<queue>, schedule-<name>, authorizer, migrate): AWS name, handler, description; timeout (null: var.timeout) and unreserved (true: no reserved concurrency) where they differ from the service's."
  type = map(object({
    function_name = string
    handler       = string
    description   = string
    timeout       = optional(number)
    unreserved    = optional(bool, false)
  }))
}

# ------------------------------------------------------------------------------------------------ code

variable "package_type" {
  description = "Zip (a .zip built by stratus build) or Image (a container image in ECR)."
  type        = string
  default     = "Zip"

  validation {
    condition     = contains(["Zip", "Image"], var.package_type)
    error_message = "package_type must be Zip or Image."
  }
}

variable "filename" {
  description = "Path of the .zip, for package_type Zip."
  type        = string
  default     = null
}

variable "image_uri" {
  description = "Image URI (<repository url>:<tag>), for package_type Image."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime of a Zip package, e.g. python3.13."
  type        = string
  default     = "python3.13"
}

variable "layer_parameters" {
  description = "SSM parameters holding the version ARN of each layer a Zip package runs with (AWS's managed Powertools layer)."
  type        = list(string)
  default     = []
}

variable "artifacts_bucket" {
  description = "Bucket the zip is uploaded to, for package_type Zip (null: uploaded directly, up to 50 MB)."
  type        = string
  default     = null
}

variable "provisioned_concurrency" {
  description = "Initialized environments of the HTTP function (a published version behind the alias live); null: none."
  type        = number
  default     = null
}

variable "architecture" {
  description = "arm64 or x86_64."
  type        = string
  default     = "arm64"
}

# ------------------------------------------------------------------------------------------------ configuration

variable "memory_size" {
  description = "Memory of each function, in MB (128-10240)."
  type        = number
  default     = 512
}

variable "timeout" {
  description = "Timeout of each function, in seconds (1-900)."
  type        = number
  default     = 30
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of each function; null reserves none."
  type        = number
  default     = null
}

variable "environment_variables" {
  description = "Environment of every function of the service."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days."
  type        = number
  default     = 7
}

# ------------------------------------------------------------------------------------------------ permissions

variable "policy_statements" {
  description = "What the service may do, beyond its own logs and traces: exact actions on exact resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

# ------------------------------------------------------------------------------------------------ triggers

variable "event_sources" {
  description = "SQS queues consumed, by key: the function (a key of functions) that processes each queue's batches."
  type = map(object({
    function                           = string
    queue_arn                          = string
    batch_size                         = number
    maximum_batching_window_in_seconds = number
    function_response_types            = list(string)
  }))
  default = {}
}

variable "schedules" {
  description = "EventBridge schedules, by key: the function (a key of functions) and its rate() or cron() expression."
  type = map(object({
    function            = string
    schedule_expression = string
  }))
  default = {}
}

# ------------------------------------------------------------------------------------------------ network

variable "vpc_id" {
  description = "VPC of the functions' security group, when subnet_ids is set."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets to attach the functions to (to reach a database); empty keeps them out of any VPC."
  type        = list(string)
  default     = []
}

variable "egress_cidr_blocks" {
  description = "Where functions in the VPC may connect (HTTPS to VPC endpoints, PostgreSQL)."
  type        = list(string)
  default     = []
}

variable "egress_prefix_list_ids" {
  description = "Prefix lists of gateway endpoints (DynamoDB, S3) the functions in the VPC reach over HTTPS."
  type        = list(string)
  default     = []
}

# ------------------------------------------------------------------------------------------------ alarms

variable "throttles_alarm_threshold" {
  description = "Alarm when a function is throttled more than this in 5 minutes."
  type        = number
  default     = 0
}

variable "duration_alarm_ratio" {
  description = "Alarm when a function's slowest invocation in 5 minutes took more than this share of its timeout."
  type        = number
  default     = 0.8
}

variable "errors_alarm_threshold" {
  description = "Alarm when a function raises more errors than this in 5 minutes."
  type        = number
  default     = 0
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm changes state (e.g. SNS topics)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
