"""What Stratus services share: settings, AWS clients, logging, JSON errors, the app factory, the Lambda handler.

Services depend on this library, never on the ``stratus`` toolkit. The names below are imported on
first use, so a Lambda that only needs, say, :func:`client` and :func:`queue_url` (an SQS consumer)
does not pay for importing FastAPI on its cold start.

:mod:`stratus_common.secrets` reads the manifest's ``[secrets.NAME]`` (cached, rotation-aware) and
:mod:`stratus_common.database` gives a database's URL with its credentials from Secrets Manager.

:mod:`stratus_common.aws_errors` tells AWS failures apart and turns them into a 503 to retry;
:mod:`stratus_common.dynamo` reads DynamoDB's refusals (conditions, cancelled transactions) and retries transactions
that concurrent ones cancelled; :mod:`stratus_common.times` writes moments as the stores keep them;
:mod:`stratus_common.cursors` signs pagination cursors; :mod:`stratus_common.testing` is what services' tests share
(signed-in callers, a clean environment, moto, a running stack's client).

The identity modules are imported by name: :mod:`stratus_common.tokens` (access tokens: signing keys,
issue, verify), :mod:`stratus_common.sessions` (the sessions table), :mod:`stratus_common.bearer` (the
``Authorization: Bearer`` header), :mod:`stratus_common.apikeys` (API keys), and
:mod:`stratus_common.environment` (where the process runs, standard library only). Each imports only the
standard library at import time, for the gateway's authorizer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stratus_common.app import ReadinessCheck, add_readiness_check, create_app
    from stratus_common.aws import client, reset_clients, resource
    from stratus_common.database import database_url
    from stratus_common.environment import ConfigurationError
    from stratus_common.errors import (
        ApiError,
        BadGateway,
        BadRequest,
        Conflict,
        ErrorResponse,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        ServiceUnavailable,
        TooManyRequests,
        Unauthorized,
        error_body,
        error_responses,
        install_error_handlers,
    )
    from stratus_common.lambda_handler import BasePathMiddleware, make_handler
    from stratus_common.logging import get_logger
    from stratus_common.secrets import get_secret
    from stratus_common.settings import (
        ServiceSettings,
        bucket_name,
        dlq_url,
        get_settings,
        queue_url,
        table_name,
    )

__all__ = [
    "ApiError",
    "BadGateway",
    "BadRequest",
    "BasePathMiddleware",
    "ConfigurationError",
    "Conflict",
    "ErrorResponse",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "ReadinessCheck",
    "ServiceSettings",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "add_readiness_check",
    "bucket_name",
    "client",
    "create_app",
    "database_url",
    "dlq_url",
    "error_body",
    "error_responses",
    "get_logger",
    "get_secret",
    "get_settings",
    "install_error_handlers",
    "make_handler",
    "queue_url",
    "reset_clients",
    "resource",
    "table_name",
]

_MODULES = {
    "app": ("ReadinessCheck", "add_readiness_check", "create_app"),
    "aws": ("client", "reset_clients", "resource"),
    "database": ("database_url",),
    "environment": ("ConfigurationError",),
    "errors": (
        "ApiError",
        "BadGateway",
        "BadRequest",
        "Conflict",
        "ErrorResponse",
        "Forbidden",
        "NotFound",
        "PayloadTooLarge",
        "ServiceUnavailable",
        "TooManyRequests",
        "Unauthorized",
        "error_body",
        "error_responses",
        "install_error_handlers",
    ),
    "lambda_handler": ("BasePathMiddleware", "make_handler"),
    "logging": ("get_logger",),
    "secrets": ("get_secret",),
    "settings": (
        "ServiceSettings",
        "bucket_name",
        "dlq_url",
        "get_settings",
        "queue_url",
        "table_name",
    ),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
