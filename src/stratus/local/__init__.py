"""The local cloud: the whole stack from stratus.toml on 127.0.0.1, behaving as AWS does.

``cloud.LocalCloud`` starts the parts in order: the embedded AWS (``aws``), PostgreSQL (``postgres``), the
Lambda execution environments (``runtime``), the container services (``containers``) and the HTTP API in
front (``gateway``), plus the Lambda Invoke API (``invoke_api``).
"""
