"""AWS failures: telling them apart, and turning them into the 503 a client may retry.

- :func:`error_code`: the code of an AWS error (``ConditionalCheckFailedException``, ``ThrottlingException``...);
- :func:`is_aws_error`: whether an exception means AWS could not do it: a botocore error (a ``ClientError``, a
  timeout, an unreachable endpoint), an unreadable secret (:class:`~stratus_common.secrets.SecretUnavailable`), or an
  :class:`AwsUnavailable` (e.g. DynamoDB cancelling a transaction under contention, every time);
- :func:`unavailable_on_aws_error`: around the calls of a request, turns such a failure into 503
  ``service_unavailable`` with ``Retry-After``, logging the cause; any other exception passes through untouched::

      with unavailable_on_aws_error("store the job"):
          store.create(job)       # DynamoDB down -> 503 "Could not store the job; try again later"

This module imports only the standard library, and botocore is never imported to recognise its errors (a botocore
exception can only exist once botocore is loaded): importing it costs a Lambda's cold start nothing, and an SQS
consumer may use :func:`error_code` without loading FastAPI.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["AwsUnavailable", "error_code", "is_aws_error", "unavailable_on_aws_error"]


class _ExceptionLogger(Protocol):
    """What is needed of a logger: stdlib ``logging.Logger`` and Powertools ``Logger`` fit."""

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None: ...  # pragma: no cover


class AwsUnavailable(Exception):
    """AWS answered, but could not do it now; the caller may retry later (a 503, as for a botocore error)."""


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of *exc* (``response["Error"]["Code"]`` of a ``ClientError``); ``None`` if it has none."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error")
    code = error.get("Code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code else None


def is_aws_error(exc: BaseException) -> bool:
    """Whether *exc* means an AWS service could not do what it was asked (see the module's docstring)."""
    from stratus_common.secrets import SecretUnavailable  # the standard library only

    if isinstance(exc, AwsUnavailable | SecretUnavailable):
        return True
    botocore = sys.modules.get("botocore.exceptions")  # not loaded: no client was made, so none raised
    return botocore is not None and isinstance(exc, botocore.BotoCoreError | botocore.ClientError)


@contextmanager
def unavailable_on_aws_error(
    action: str, *, retry_after: int = 1, logger: _ExceptionLogger | None = None
) -> Iterator[None]:
    """Turn an AWS failure inside the block into 503 ``service_unavailable`` (``Could not <action>; try again
    later``, ``Retry-After: <retry_after>``), logging the cause with *logger* (default: the service's)."""
    try:
        yield
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        from stratus_common.errors import ServiceUnavailable

        if logger is None:
            from stratus_common.logging import get_logger

            logger = get_logger()
        logger.exception("Could not %s", action)
        raise ServiceUnavailable(
            f"Could not {action}; try again later", headers={"Retry-After": str(retry_after)}
        ) from exc
