variable "name" {
  description = "AWS name of the service (<project>-<env>-<service>); also the name of its cluster and log group."
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
  description = "ARN of the ECR repository the image comes from (the execution role may pull from it only)."
  type        = string
}

variable "port" {
  description = "Port the container listens on."
  type        = number
  default     = 8080
}

variable "command" {
  description = "Command that starts the service; null uses the image's."
  type        = list(string)
  default     = null
}

variable "cpu" {
  description = "CPU units of the task (Fargate sizes)."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Memory of the task in MB; one of Fargate's valid values for cpu."
  type        = number
  default     = 2048
}

variable "environment_variables" {
  description = "Environment of the service."
  type        = map(string)
  default     = {}
}

variable "health_check_path" {
  description = "Path the load balancer checks."
  type        = string
  default     = "/health"
}

variable "scaling" {
  description = "Auto scaling: task counts and the average CPU (percent) to keep."
  type = object({
    min_task_count     = number
    max_task_count     = number
    cpu_target_percent = number
  })
  default = {
    min_task_count     = 1
    max_task_count     = 25
    cpu_target_percent = 60
  }
}

variable "log_retention_days" {
  description = "Retention of the service's log group, in days."
  type        = number
  default     = 7
}

variable "policy_statements" {
  description = "What the service may do (its task role): exact actions on exact resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
