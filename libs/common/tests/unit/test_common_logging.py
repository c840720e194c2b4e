"""get_logger and redaction: structured JSON logs named after the service, without secrets."""

from __future__ import annotations

import io
import json
import uuid
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from stratus_common.logging import REDACTED, RedactingFormatter, get_logger, redact

if TYPE_CHECKING:
    import pytest


def test_get_logger_is_named_after_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a service named in the environment, logging at DEBUG
    service = f"svc-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("STRATUS_SERVICE", service)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    # WHEN a logger is asked for, with and without a name
    logger = get_logger()
    named = get_logger("billing")
    # THEN they are Powertools loggers, the default one for the service at its level
    assert isinstance(logger, Logger)
    assert logger.service == service
    assert logger.log_level == 10
    assert named.service == "billing"


def test_get_logger_without_a_service_name() -> None:
    # GIVEN no service name in the environment
    # WHEN a logger is asked for
    # THEN it still works, named "stratus"
    assert get_logger().service == "stratus"


def test_redact_hides_credential_like_keys_at_any_depth() -> None:
    # GIVEN a record with secrets beside ordinary values, nested in dicts and lists
    record = {
        "password": "p",
        "user": "ada",
        "token_count": 3,
        "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k", "accept": "*/*"},
        "items": [{"client_secret": "s", "job_id": "j"}],
        "accessToken": "t",
        "RECORDS_DATABASE_URL": "postgresql://u:p@h/db",
    }
    # WHEN it is redacted
    redacted = redact(record)
    # THEN only the secrets are hidden
    assert redacted == {
        "password": REDACTED,
        "user": "ada",
        "token_count": 3,
        "headers": {"Authorization": REDACTED, "X-Api-Key": REDACTED, "accept": "*/*"},
        "items": [{"client_secret": REDACTED, "job_id": "j"}],
        "accessToken": REDACTED,
        "RECORDS_DATABASE_URL": REDACTED,
    }


def test_the_formatter_redacts_what_is_logged() -> None:
    # GIVEN a Powertools logger using the redacting formatter, writing to a buffer
    stream = io.StringIO()
    logger = Logger(service=f"redaction-{uuid.uuid4().hex[:8]}", stream=stream, logger_formatter=RedactingFormatter())
    # WHEN a message with secret extra keys is logged
    logger.info("login", extra={"password": "hunter2", "user": "ada", "cookie": "sid=1"})
    # THEN the JSON line has the ordinary keys and no secret
    line = json.loads(stream.getvalue())
    assert line["message"] == "login"
    assert line["user"] == "ada"
    assert line["password"] == REDACTED
    assert line["cookie"] == REDACTED
    assert "hunter2" not in stream.getvalue()
