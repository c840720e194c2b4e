variable "name" {
  description = "AWS name of the service (<project>-<env>-<service>, at most 32 characters: the auto scaling configuration shares it)."
  type        = string
}

variable "role_name" {
  description = "Name of the role the service runs as (stratus: <project>-<env>-<service>-role)."
  type        = string
}

variable "image_uri" {
  description = "Image to run: <repository url>:<tag>."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ARN of the ECR repository the image comes from (the access role may pull from it only)."
  type        = string
}

variable "port" {
  description = "Port the container listens on."
  type        = number
  default     = 8080
}

variable "start_command" {
  description = "Command that starts the service; null uses the image's."
  type        = string
  default     = null
}

variable "cpu" {
  description = "CPU units: 256, 512, 1024, 2048 or 4096."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Memory in MB; one of App Runner's valid values for cpu."
  type        = number
  default     = 2048
}

variable "environment_variables" {
  description = "Environment of the service."
  type        = map(string)
  default     = {}
}

variable "health_check" {
  description = "Health check: protocol (http or tcp), path, interval and timeout (s), healthy and unhealthy thresholds."
  type = object({
    protocol            = string
    path                = string
    interval            = number
    timeout             = number
    healthy_threshold   = number
    unhealthy_threshold = number
  })
  default = {
    protocol            = "http"
    path                = "/health"
    interval            = 5
    timeout             = 2
    healthy_threshold   = 1
    unhealthy_threshold = 5
  }
}

variable "scaling" {
  description = "Auto scaling: instances (1-25) and concurrent requests per instance before scaling out (1-200)."
  type = object({
    min_size        = number
    max_size        = number
    max_concurrency = number
  })
  default = {
    min_size        = 1
    max_size        = 25
    max_concurrency = 100
  }
}

variable "policy_statements" {
  description = "What the service may do (its instance role), beyond writing traces: exact actions on exact resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

variable "vpc_id" {
  description = "VPC of the service's security group, when subnet_ids is set."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of the VPC connector (to reach a database); empty: outbound traffic goes to the internet."
  type        = list(string)
  default     = []
}

variable "egress_cidr_blocks" {
  description = "Where the service may connect through the VPC (HTTPS to VPC endpoints, PostgreSQL)."
  type        = list(string)
  default     = []
}

variable "egress_prefix_list_ids" {
  description = "Prefix lists of gateway endpoints (DynamoDB, S3) the service reaches over HTTPS."
  type        = list(string)
  default     = []
}

variable "server_errors_alarm_threshold" {
  description = "Alarm when the service answers more 5xx than this in 5 minutes."
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
