"""aws_errors: AWS failures told apart by code, and turned into a 503 to retry; nothing else is touched."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from stratus_common.aws_errors import AwsUnavailable, error_code, is_aws_error, unavailable_on_aws_error
from stratus_common.errors import ServiceUnavailable
from stratus_common.secrets import SecretUnavailable


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "PutItem")


def test_the_error_code_of_a_client_error_and_of_anything_else() -> None:
    assert error_code(_client_error("ConditionalCheckFailedException")) == "ConditionalCheckFailedException"
    assert error_code(EndpointConnectionError(endpoint_url="http://nowhere")) is None
    assert error_code(ValueError("not AWS")) is None


@pytest.mark.parametrize(
    "exc",
    [
        _client_error("ThrottlingException"),
        EndpointConnectionError(endpoint_url="http://nowhere"),
        ReadTimeoutError(endpoint_url="http://slow"),
        SecretUnavailable("the secret could not be read"),
        AwsUnavailable("DynamoDB kept cancelling"),
    ],
)
def test_what_counts_as_an_aws_failure(exc: Exception) -> None:
    assert is_aws_error(exc)


@pytest.mark.parametrize("exc", [ValueError("bad"), KeyError("x"), RuntimeError("bug")])
def test_other_exceptions_are_not_aws_failures(exc: Exception) -> None:
    assert not is_aws_error(exc)


def test_an_aws_failure_becomes_a_503_to_retry_and_its_cause_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a logger, and a block whose AWS call fails
    logger = logging.getLogger("test_common_aws_errors")
    cause = _client_error("ProvisionedThroughputExceededException")
    # WHEN the block runs
    with pytest.raises(ServiceUnavailable) as raised, unavailable_on_aws_error("store the job", logger=logger):
        raise cause
    # THEN the client gets a 503 with Retry-After and the action, and the cause is logged, with its traceback
    error = raised.value
    assert (error.status_code, error.code) == (503, "service_unavailable")
    assert error.message == "Could not store the job; try again later"
    assert error.headers == {"Retry-After": "1"}
    assert error.__cause__ is cause
    assert [(r.getMessage(), r.exc_info is not None) for r in caplog.records] == [("Could not store the job", True)]


def test_retry_after_is_the_callers() -> None:
    with pytest.raises(ServiceUnavailable) as raised, unavailable_on_aws_error("read", retry_after=5):
        raise SecretUnavailable("gone")
    assert raised.value.headers == {"Retry-After": "5"}


def test_other_exceptions_and_success_pass_through_untouched() -> None:
    with pytest.raises(KeyError), unavailable_on_aws_error("read the user"):
        raise KeyError("a bug, not an outage")
    with unavailable_on_aws_error("read the user"):
        value = 1
    assert value == 1
