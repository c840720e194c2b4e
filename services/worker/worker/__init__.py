"""The worker service: the HTTP API that enqueues jobs (worker.main) and the SQS consumer (worker.consumer)."""
