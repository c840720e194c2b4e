"""ServiceSettings: plain settings with their fallbacks, and the resource lookups' naming convention."""

from __future__ import annotations

import pytest
from stratus_common import settings as settings_module
from stratus_common.settings import ConfigurationError, ServiceSettings, get_settings, resource_env_var


def test_defaults_when_nothing_is_set() -> None:
    # GIVEN an environment with none of the service's variables
    # WHEN the settings are read
    settings = ServiceSettings()
    # THEN every setting has its documented default
    assert settings.service_name is None
    assert settings.environment == "local"
    assert settings.base_path == "/"
    assert settings.version == "0.1.0"
    assert settings.log_level == "INFO"
    assert settings.region == "us-east-1"  # set by the fixture


def test_stratus_variables_win_over_their_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN both the Stratus variables and the seeds' older names
    monkeypatch.setenv("STRATUS_SERVICE", "worker")
    monkeypatch.setenv("SERVICE_NAME", "legacy")
    monkeypatch.setenv("STRATUS_ENV", "prod")
    monkeypatch.setenv("ENVIRONMENT", "dev")
    # WHEN the settings are read
    settings = ServiceSettings()
    # THEN the Stratus variables are used
    assert (settings.service_name, settings.environment) == ("worker", "prod")


def test_fallback_variables_are_used_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN only the fallback names, as the seeds' Terraform sets them
    monkeypatch.setenv("SERVICE_NAME", "api")
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.setenv("SERVICE_VERSION", "1.2.3")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    # WHEN the settings are read
    settings = ServiceSettings()
    # THEN they are used
    assert settings.service_name == "api"
    assert settings.environment == "dev"
    assert settings.version == "1.2.3"
    assert settings.log_level == "DEBUG"
    assert settings.region == "eu-west-1"


def test_unrelated_generic_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN generic variables that share a field's name
    monkeypatch.setenv("VERSION", "9.9.9")
    monkeypatch.setenv("BASE_PATH", "/nope")
    monkeypatch.setenv("REGION", "nowhere-1")
    # WHEN the settings are read
    settings = ServiceSettings()
    # THEN only the documented variables count
    assert (settings.version, settings.base_path, settings.region) == ("0.1.0", "/", "us-east-1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/worker", "/worker"),
        ("worker", "/worker"),
        ("/worker/", "/worker"),
        ("/", "/"),
        ("", "/"),
        (" /a/b/ ", "/a/b"),
    ],
)
def test_base_path_is_normalised(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str) -> None:
    # GIVEN a base path written in any of the usual ways
    monkeypatch.setenv("STRATUS_BASE_PATH", raw)
    # WHEN the settings are read
    # THEN it is "/prefix" without a trailing slash, or "/"
    assert ServiceSettings().base_path == expected


def test_resource_lookups_follow_the_naming_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the variables the local cloud and Terraform set for the resources a service uses
    monkeypatch.setenv("JOBS_QUEUE_URL", "http://127.0.0.1:4566/000000000000/acme-dev-jobs")
    monkeypatch.setenv("JOBS_DLQ_URL", "http://127.0.0.1:4566/000000000000/acme-dev-jobs-dlq")
    monkeypatch.setenv("USERS_TABLE_NAME", "acme-dev-users")
    monkeypatch.setenv("STORAGE_BUCKET_NAME", "acme-dev-storage")
    monkeypatch.setenv("RECORDS_DATABASE_URL", "postgresql://u:p@localhost/records")
    monkeypatch.setenv("RATE_LIMITS_TABLE_NAME", "acme-dev-rate-limits")
    # WHEN the service looks them up by their stratus.toml names
    settings = ServiceSettings()
    # THEN each comes from its variable
    assert settings.queue_url("jobs").endswith("/acme-dev-jobs")
    assert settings.dlq_url("jobs").endswith("/acme-dev-jobs-dlq")
    assert settings.table_name("users") == "acme-dev-users"
    assert settings.bucket_name("storage") == "acme-dev-storage"
    assert settings.database_url("records") == "postgresql://u:p@localhost/records"
    assert settings.table_name("rate-limits") == "acme-dev-rate-limits"
    assert settings.table_name("RATE_LIMITS") == "acme-dev-rate-limits"


@pytest.mark.parametrize(
    ("lookup", "name", "variable", "section"),
    [
        ("queue_url", "jobs", "JOBS_QUEUE_URL", "[queues.jobs]"),
        ("dlq_url", "jobs", "JOBS_DLQ_URL", "[queues.jobs]"),
        ("table_name", "rate-limits", "RATE_LIMITS_TABLE_NAME", "[tables.rate-limits]"),
        ("bucket_name", "storage", "STORAGE_BUCKET_NAME", "[buckets.storage]"),
        ("database_url", "records", "RECORDS_DATABASE_URL", "[databases.records]"),
    ],
)
def test_a_missing_resource_raises_an_error_naming_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, lookup: str, name: str, variable: str, section: str
) -> None:
    # GIVEN a service that did not declare the resource
    monkeypatch.setenv("STRATUS_SERVICE", "worker")
    settings = ServiceSettings()
    # WHEN it looks the resource up
    with pytest.raises(ConfigurationError) as raised:
        getattr(settings, lookup)(name)
    # THEN the error names the variable, the manifest section and the service's `uses`
    message = str(raised.value)
    assert variable in message
    assert "stratus.toml" in message
    assert section in message
    assert "[services.worker]" in message
    assert "uses" in message


def test_an_empty_variable_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a variable that is set but blank
    monkeypatch.setenv("JOBS_QUEUE_URL", "  ")
    # WHEN the queue is looked up
    # THEN it is an error, not an empty URL
    with pytest.raises(ConfigurationError, match="JOBS_QUEUE_URL"):
        ServiceSettings().queue_url("jobs")


@pytest.mark.parametrize("name", ["", "1jobs", "jobs queue", "jobs/../x"])
def test_an_invalid_resource_name_is_rejected(name: str) -> None:
    # GIVEN a name that cannot be a stratus.toml key
    # WHEN it is looked up
    # THEN the error says the name is invalid
    with pytest.raises(ConfigurationError, match="invalid table name"):
        resource_env_var("table", name)


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN settings already read
    first = get_settings()
    monkeypatch.setenv("STRATUS_ENV", "prod")
    # WHEN they are read again, then after clearing the cache
    again = get_settings()
    get_settings.cache_clear()
    fresh = get_settings()
    # THEN the cached object is returned until the cache is cleared
    assert again is first
    assert fresh.environment == "prod"


def test_module_level_lookups_use_the_cached_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the variables of every resource kind
    monkeypatch.setenv("JOBS_QUEUE_URL", "q")
    monkeypatch.setenv("JOBS_DLQ_URL", "d")
    monkeypatch.setenv("JOBS_TABLE_NAME", "t")
    monkeypatch.setenv("STORAGE_BUCKET_NAME", "b")
    monkeypatch.setenv("RECORDS_DATABASE_URL", "u")
    # WHEN they are looked up with the module-level functions
    found = (
        settings_module.queue_url("jobs"),
        settings_module.dlq_url("jobs"),
        settings_module.table_name("jobs"),
        settings_module.bucket_name("storage"),
        settings_module.database_url("records"),
    )
    # THEN each is found
    assert found == ("q", "d", "t", "b", "u")
