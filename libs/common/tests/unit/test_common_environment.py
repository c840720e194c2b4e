"""stratus_common.environment: where the process runs, read without pydantic (for cold paths)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from stratus_common import environment, settings


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "local"),
        ({"ENVIRONMENT": "staging"}, "staging"),
        ({"STRATUS_ENV": "prod", "ENVIRONMENT": "staging"}, "prod"),
    ],
)
def test_the_environment_is_read_as_the_settings_read_it(
    environ: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert environment.environment(environ) == environment.environment() == expected
    assert settings.ServiceSettings().environment == expected


def test_a_blank_environment_is_local() -> None:
    assert environment.environment({"STRATUS_ENV": "  "}) == "local"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-central-1"),
        ({"AWS_REGION": " "}, None),
    ],
)
def test_the_region(environ: dict[str, str], expected: str | None) -> None:
    assert environment.region(environ) == expected


def test_the_project() -> None:
    assert environment.project({}) == "stratus"
    assert environment.project({"STRATUS_PROJECT": " acme "}) == "acme"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SERVICE_NAME": "billing"},
        {"STRATUS_SERVICE": "gateway", "SERVICE_NAME": "billing"},
        {"STRATUS_SERVICE": " ", "LOG_LEVEL": " debug "},
        {"LOG_LEVEL": "warning"},
    ],
)
def test_the_service_name_and_log_level_are_read_as_the_settings_read_them(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("STRATUS_SERVICE", "SERVICE_NAME", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    read = settings.ServiceSettings()
    assert environment.service_name() == environment.service_name(environ) == read.service_name
    assert environment.log_level() == environment.log_level(environ) == read.log_level


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"STRATUS_ENV": "dev", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, True),
        ({"STRATUS_ENV": "local", "AWS_ENDPOINT_URL": "http://localhost:4566"}, True),
        ({"AWS_ENDPOINT_URL": "http://[::1]:4566"}, True),  # no STRATUS_ENV: "local"
        ({"STRATUS_ENV": "dev"}, False),  # "dev" in AWS: no local endpoint
        ({"STRATUS_ENV": "prod", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, False),
        ({"STRATUS_ENV": "dev", "AWS_ENDPOINT_URL": "https://dynamodb.us-east-1.amazonaws.com"}, False),
        ({"STRATUS_ENV": "dev", "AWS_ENDPOINT_URL": "http://10.0.0.5:4566"}, False),
        ({"STRATUS_ENV": "dev", "AWS_ENDPOINT_URL": "not a url"}, False),
    ],
)
def test_in_local_cloud_needs_a_local_environment_and_a_loopback_endpoint(
    environ: dict[str, str], expected: bool
) -> None:
    assert environment.in_local_cloud(environ) is expected


def test_the_settings_raise_the_same_configuration_error() -> None:
    assert settings.ConfigurationError is environment.ConfigurationError
    with pytest.raises(environment.ConfigurationError, match="JOBS_QUEUE_URL"):
        settings.ServiceSettings().queue_url("jobs")


def test_the_light_modules_import_neither_pydantic_nor_boto3_nor_jwt() -> None:
    # GIVEN a fresh interpreter
    code = (
        "import sys, json;"
        "import stratus_common.environment, stratus_common.tokens, stratus_common.sessions, stratus_common.bearer,"
        " stratus_common.apikeys, stratus_common.aws;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout))
    # THEN importing the identity modules loads none of the heavy libraries
    assert loaded.isdisjoint({"pydantic", "pydantic_settings", "boto3", "botocore", "jwt", "fastapi", "starlette"})


def test_logging_imports_no_settings() -> None:
    # An SQS consumer logs: its cold start should not pay for pydantic-settings (~40 ms of imports)
    code = "import sys, json; import stratus_common.logging; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout))
    assert "aws_lambda_powertools" in loaded
    assert loaded.isdisjoint({"pydantic_settings", "stratus_common.settings", "fastapi"})
