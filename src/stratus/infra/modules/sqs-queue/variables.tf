variable "name" {
  description = "Name of the queue (a FIFO queue's ends in .fifo)."
  type        = string
}

variable "dlq_name" {
  description = "Name of its dead-letter queue (stratus: <name>-dlq; a FIFO queue's ends in .fifo)."
  type        = string
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a message: time to inspect and redrive (stratus: 14 days, SQS's maximum)."
  type        = number
  default     = 1209600
}

variable "fifo" {
  description = "Whether the queue (and its dead-letter queue) is a FIFO queue."
  type        = bool
  default     = false
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays invisible; at least the consumer's timeout (AWS recommends 6x)."
  type        = number
  default     = 30
}

variable "message_retention_seconds" {
  description = "How long SQS keeps a message (60-1209600 s)."
  type        = number
  default     = 345600
}

variable "delay_seconds" {
  description = "Delay before a new message becomes visible (0-900 s)."
  type        = number
  default     = 0
}

variable "receive_wait_time_seconds" {
  description = "Long polling: how long a ReceiveMessage call waits for messages (0-20 s)."
  type        = number
  default     = 20
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue."
  type        = number
  default     = 3
}

variable "oldest_message_age_alarm_seconds" {
  description = "Alarm when the oldest message is older than this many seconds."
  type        = number
  default     = 900
}

variable "dlq_depth_alarm_threshold" {
  description = "Alarm when the dead-letter queue holds more messages than this."
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
