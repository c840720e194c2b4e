"""Service settings read from the environment, and lookups of the AWS resources a service uses.

The local cloud (``stratus dev``) and the Terraform that ``stratus infra`` renders set the same
variables for every process of a service, so a service never hard-codes a queue URL or a table name.

Plain settings (where two variables are given, the first one set wins):

- ``service_name``: ``STRATUS_SERVICE``, else ``SERVICE_NAME``; default ``None``
- ``environment``: ``STRATUS_ENV``, else ``ENVIRONMENT``; default ``"local"``
- ``base_path``: ``STRATUS_BASE_PATH``; default ``"/"``
- ``region``: ``AWS_REGION``, else ``AWS_DEFAULT_REGION``; default ``None`` (botocore decides)
- ``version``: ``SERVICE_VERSION``; default ``"0.1.0"``
- ``log_level``: ``LOG_LEVEL``; default ``"INFO"``

Resources, for a resource *name* as written in ``stratus.toml`` (upper-cased, ``-`` becomes ``_``):

- ``queue_url("jobs")``: ``JOBS_QUEUE_URL``
- ``dlq_url("jobs")``: ``JOBS_DLQ_URL``
- ``table_name("users")``: ``USERS_TABLE_NAME``
- ``bucket_name("storage")``: ``STORAGE_BUCKET_NAME``
- ``model_id("text-generator")``: ``TEXT_GENERATOR_MODEL_ID`` (a ``[models.NAME]``; ``BEDROCK_MODEL_ID`` too when
  the service uses one model)
- ``database_url("records")``: ``RECORDS_DATABASE_URL`` with the credentials of ``RECORDS_DATABASE_SECRET_ARN``
  put in (the module-level function is :func:`stratus_common.database.database_url`; the method
  :meth:`ServiceSettings.database_url` gives the variable as it is, without a password in AWS)

A missing or empty variable raises :class:`ConfigurationError`; a lookup never returns ``None``.
Declared secrets (``[secrets.NAME]``) are read with :mod:`stratus_common.secrets`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stratus_common.environment import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ConfigurationError",
    "ServiceSettings",
    "bucket_name",
    "database_url",
    "dlq_url",
    "get_settings",
    "model_id",
    "queue_url",
    "resource_env_var",
    "table_name",
]

ResourceKind = Literal["queue", "dlq", "table", "bucket", "database", "model"]

_SUFFIXES: dict[ResourceKind, str] = {
    "queue": "QUEUE_URL",
    "dlq": "DLQ_URL",
    "table": "TABLE_NAME",
    "bucket": "BUCKET_NAME",
    "database": "DATABASE_URL",
    "model": "MODEL_ID",
}
# The section of stratus.toml a resource of each kind is declared in.
_SECTIONS: dict[ResourceKind, str] = {
    "queue": "queues",
    "dlq": "queues",
    "table": "tables",
    "bucket": "buckets",
    "database": "databases",
    "model": "models",
}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def resource_env_var(kind: ResourceKind, name: str) -> str:
    """Return the environment variable that holds resource *name* of *kind*.

    >>> resource_env_var("queue", "jobs")
    'JOBS_QUEUE_URL'
    >>> resource_env_var("table", "rate-limits")
    'RATE_LIMITS_TABLE_NAME'
    """
    if not _NAME.match(name):
        raise ConfigurationError(
            f"invalid {kind} name {name!r}: use letters, digits, '-' and '_', starting with a letter"
        )
    return f"{name.upper().replace('-', '_')}_{_SUFFIXES[kind]}"


class ServiceSettings(BaseSettings):
    """What a service knows about itself and where it runs, read from the environment.

    Resource lookups (:meth:`queue_url`, :meth:`table_name`, ...) read the environment as it was
    when the settings were created.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("STRATUS_SERVICE", "SERVICE_NAME"),
        description="The service's name in stratus.toml.",
    )
    environment: str = Field(
        default="local",
        validation_alias=AliasChoices("STRATUS_ENV", "ENVIRONMENT"),
        description="The environment: local, dev, prod, ...",
    )
    base_path: str = Field(
        default="/",
        validation_alias=AliasChoices("STRATUS_BASE_PATH"),
        description="The path the HTTP API routes to this service, e.g. /worker.",
    )
    region: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="The AWS region.",
    )
    version: str = Field(
        default="0.1.0",
        validation_alias=AliasChoices("SERVICE_VERSION"),
        description="The version of the deployed artifact.",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("LOG_LEVEL"),
        description="The log level: DEBUG, INFO, WARNING, ERROR.",
    )

    _environ: Mapping[str, str] = PrivateAttr(default_factory=lambda: dict(os.environ))

    @field_validator("service_name", "region", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_path")
    @classmethod
    def _normalise_base_path(cls, value: str) -> str:
        value = value.strip()
        if not value or value == "/":
            return "/"
        if not value.startswith("/"):
            value = "/" + value
        return value.rstrip("/") or "/"

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        return value.strip().upper() or "INFO"

    def _lookup(self, kind: ResourceKind, name: str) -> str:
        variable = resource_env_var(kind, name)
        value = self._environ.get(variable, "").strip()
        if value:
            return value
        service = f"[services.{self.service_name}]" if self.service_name else "the service's section"
        what = "dead-letter queue of queue" if kind == "dlq" else kind
        raise ConfigurationError(
            f"{variable} is not set, so the {what} {name!r} is unknown to this service: "
            f"declare it in stratus.toml under [{_SECTIONS[kind]}.{name}] and list it in the `uses` of "
            f'{service} (e.g. uses = {{ {name} = "read-write" }})'
        )

    def queue_url(self, name: str) -> str:
        """Return the URL of SQS queue *name* (``<NAME>_QUEUE_URL``)."""
        return self._lookup("queue", name)

    def dlq_url(self, name: str) -> str:
        """Return the URL of the dead-letter queue of queue *name* (``<NAME>_DLQ_URL``)."""
        return self._lookup("dlq", name)

    def table_name(self, name: str) -> str:
        """Return the name of DynamoDB table *name* (``<NAME>_TABLE_NAME``)."""
        return self._lookup("table", name)

    def bucket_name(self, name: str) -> str:
        """Return the name of S3 bucket *name* (``<NAME>_BUCKET_NAME``)."""
        return self._lookup("bucket", name)

    def model_id(self, name: str) -> str:
        """Return the Bedrock model id of model *name* (``<NAME>_MODEL_ID``)."""
        return self._lookup("model", name)

    def database_url(self, name: str) -> str:
        """Return ``<NAME>_DATABASE_URL`` as it is: in AWS it has no password, so connect with the module-level
        :func:`database_url` (:func:`stratus_common.database.database_url`), which adds the credentials."""
        return self._lookup("database", name)


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    """Return the process's settings, read once from the environment.

    Tests that change the environment call ``get_settings.cache_clear()``.
    """
    return ServiceSettings()


def queue_url(name: str) -> str:
    """Return the URL of SQS queue *name*; see :meth:`ServiceSettings.queue_url`."""
    return get_settings().queue_url(name)


def dlq_url(name: str) -> str:
    """Return the URL of the dead-letter queue of queue *name*; see :meth:`ServiceSettings.dlq_url`."""
    return get_settings().dlq_url(name)


def table_name(name: str) -> str:
    """Return the name of DynamoDB table *name*; see :meth:`ServiceSettings.table_name`."""
    return get_settings().table_name(name)


def bucket_name(name: str) -> str:
    """Return the name of S3 bucket *name*; see :meth:`ServiceSettings.bucket_name`."""
    return get_settings().bucket_name(name)


def model_id(name: str) -> str:
    """Return the Bedrock model id of model *name*; see :meth:`ServiceSettings.model_id`."""
    return get_settings().model_id(name)


def database_url(name: str, *, refresh: bool = False) -> str:
    """Return the URL of database *name* with its credentials; see :func:`stratus_common.database.database_url`."""
    from stratus_common.database import database_url as with_credentials

    return with_credentials(name, refresh=refresh)
