variable "name" {
  description = "Name of the API (<project>-<env>)."
  type        = string
}

variable "description" {
  description = "Description of the API."
  type        = string
  default     = null
}

variable "cors" {
  description = "CORS configuration; null disables CORS (API Gateway then answers no preflight)."
  type = object({
    allow_origins     = list(string)
    allow_methods     = list(string)
    allow_headers     = list(string)
    expose_headers    = list(string)
    max_age           = number
    allow_credentials = bool
  })
  default = null
}

variable "throttle" {
  description = "Stage throttling (requests per second, burst); null leaves the account's limits."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = null
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days."
  type        = number
  default     = 7
}

variable "lambda_integrations" {
  description = "Lambda proxy integrations (payload format 2.0), by key: function name, invoke ARN, timeout, and the alias invoked (qualifier, null for none)."
  type = map(object({
    function_name        = string
    invoke_arn           = string
    timeout_milliseconds = number
    qualifier            = optional(string)
  }))
  default = {}
}

variable "http_integrations" {
  description = "HTTP proxy integrations, by key: URI (may use {proxy} from a greedy route), timeout."
  type = map(object({
    uri                  = string
    timeout_milliseconds = number
  }))
  default = {}
}

variable "routes" {
  description = "Routes by route key ($default, ANY /path, ANY /path/{proxy+}): the integration (a key of lambda_integrations or http_integrations) and the authorizer guarding it (a key of authorizers; null: public)."
  type = map(object({
    integration = string
    authorizer  = optional(string)
  }))
}

variable "authorizers" {
  description = "Lambda REQUEST authorizers by key (payload 2.0, simple responses): function, TTL of cached answers (0: none), identity sources."
  type = map(object({
    function_name    = string
    invoke_arn       = string
    ttl              = number
    identity_sources = list(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for a in values(var.authorizers) : a.ttl == 0 || length(a.identity_sources) > 0])
    error_message = "An authorizer that caches (ttl > 0) needs at least one identity source: API Gateway keys its cache on them."
  }
}

variable "domain_name" {
  description = "Custom domain of the API (e.g. api.example.com); null serves the execute-api endpoint only."
  type        = string
  default     = null
}

variable "zone_id" {
  description = "Route 53 hosted zone of domain_name (certificate validation and alias record)."
  type        = string
  default     = null
}

variable "server_errors_alarm_threshold" {
  description = "Alarm when the API answers more 5xx than this in 5 minutes."
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
