"""stratus_common.secrets: a declared secret read by its manifest name, cached per version stage with a TTL."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest
from stratus_common import secrets, tokens
from stratus_common.environment import ConfigurationError

if TYPE_CHECKING:
    from conftest import FakeClock, SecretsManager

VALUE = "the-first-value-of-the-secret-0123456789"
ROTATED = "the-rotated-value-of-the-secret-987654321"


@pytest.fixture
def declared(secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch) -> str:
    """The secret ``api-key`` declared in the manifest: its ARN in API_KEY_SECRET_ARN."""
    arn = secrets_manager.create("acme-test-api-key", VALUE)
    monkeypatch.setenv("API_KEY_SECRET_ARN", arn)
    return arn


def test_the_variable_is_named_after_the_manifest_name() -> None:
    assert secrets.secret_env_var("token-signing") == "TOKEN_SIGNING_SECRET_ARN"
    assert secrets.secret_env_var("db_password") == "DB_PASSWORD_SECRET_ARN"
    assert secrets.secret_env_var(tokens.SECRET_NAME) == tokens.SECRET_ARN_ENV


def test_a_secret_is_read_once_per_ttl(declared: str, secrets_manager: SecretsManager, clock: FakeClock) -> None:
    # GIVEN a declared secret, read once
    assert secrets.get_secret("api-key") == VALUE
    # WHEN it is read again within the TTL (300 s by default)
    clock.advance(299)
    for _ in range(5):
        assert secrets.get_secret("api-key") == VALUE
    # THEN Secrets Manager was called once, for AWSCURRENT
    assert secrets_manager.calls == [(declared, "AWSCURRENT")]
    # AND once the TTL has passed, the next read calls it again
    clock.advance(2)
    assert secrets.get_secret("api-key") == VALUE
    assert secrets_manager.reads() == 2


def test_a_rotation_is_seen_after_the_ttl(declared: str, secrets_manager: SecretsManager, clock: FakeClock) -> None:
    # GIVEN the secret read, then rotated
    assert secrets.get_secret("api-key") == VALUE
    secrets_manager.rotate(declared, ROTATED)
    # THEN the cached value is used until the TTL ends, the new one after
    assert secrets.get_secret("api-key") == VALUE
    clock.advance(secrets.DEFAULT_MAX_AGE)
    assert secrets.get_secret("api-key") == ROTATED


def test_refresh_reads_now(declared: str, secrets_manager: SecretsManager, clock: FakeClock) -> None:
    assert secrets.get_secret("api-key") == VALUE
    secrets_manager.rotate(declared, ROTATED)
    assert secrets.get_secret("api-key", refresh=True) == ROTATED
    assert secrets_manager.reads() == 2


def test_the_ttl_comes_from_the_argument_else_the_variable(
    declared: str, secrets_manager: SecretsManager, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN STRATUS_SECRETS_MAX_AGE=10
    monkeypatch.setenv("STRATUS_SECRETS_MAX_AGE", "10")
    secrets.get_secret("api-key")
    clock.advance(9)
    secrets.get_secret("api-key")
    assert secrets_manager.reads() == 1
    clock.advance(1)
    secrets.get_secret("api-key")
    assert secrets_manager.reads() == 2
    # AND an explicit max_age wins over it; 0 reads every time
    clock.advance(9)
    secrets.get_secret("api-key", max_age=60)
    assert secrets_manager.reads() == 2
    secrets.get_secret("api-key", max_age=0)
    secrets.get_secret("api-key", max_age=0)
    assert secrets_manager.reads() == 4


@pytest.mark.parametrize("raw", ["soon", "-1", "inf", "nan"])
def test_a_bad_ttl_variable_is_refused(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="STRATUS_SECRETS_MAX_AGE"):
        secrets.default_max_age({"STRATUS_SECRETS_MAX_AGE": raw})


def test_the_default_ttl() -> None:
    assert secrets.default_max_age({}) == secrets.DEFAULT_MAX_AGE == 300
    assert secrets.default_max_age({"STRATUS_SECRETS_MAX_AGE": "0"}) == 0


def test_versions_before_and_after_rotations(declared: str, secrets_manager: SecretsManager, clock: FakeClock) -> None:
    # GIVEN a secret never rotated: no AWSPREVIOUS (moto, like AWS, answers ResourceNotFoundException)
    assert secrets.secret_versions("api-key") == (VALUE, None)
    # AND "no previous" is cached too: one call per stage per TTL
    assert secrets.secret_versions("api-key") == (VALUE, None)
    assert secrets_manager.calls == [(declared, "AWSCURRENT"), (declared, "AWSPREVIOUS")]
    # WHEN it is rotated, THEN the old value is AWSPREVIOUS
    secrets_manager.rotate(declared, ROTATED)
    clock.advance(300)
    assert secrets.secret_versions("api-key") == (ROTATED, VALUE)
    # AND after a second rotation, the first value is gone
    secrets_manager.rotate(declared, "a-third-value-of-the-secret-000000000000")
    assert secrets.secret_versions("api-key", refresh=True) == ("a-third-value-of-the-secret-000000000000", ROTATED)


def test_the_stages_are_cached_apart(declared: str, secrets_manager: SecretsManager) -> None:
    # GIVEN a rotated secret (what Powertools' SecretsProvider gets wrong: its cache key ignores VersionStage)
    secrets_manager.rotate(declared, ROTATED)
    # WHEN the current value, then the previous one, are read
    current = secrets.read_secret(declared)
    previous = secrets.read_secret(declared, stage=secrets.PREVIOUS)
    # THEN each is its own
    assert (current, previous) == (ROTATED, VALUE)


def test_concurrent_readers_make_one_call(declared: str, secrets_manager: SecretsManager) -> None:
    # GIVEN eight threads that need the secret at once (a container serving requests on a thread pool)
    barrier = threading.Barrier(8)
    found: list[str] = []

    def read() -> None:
        barrier.wait()
        found.append(secrets.get_secret("api-key"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN they all got it from one call
    assert found == [VALUE] * 8
    assert secrets_manager.reads() == 1


def test_an_undeclared_secret_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as raised:
        secrets.get_secret("api-key")
    message = str(raised.value)
    assert "API_KEY_SECRET_ARN" in message
    assert "[secrets.api-key]" in message
    assert "uses" in message


@pytest.mark.parametrize("name", ["", "1key", "api key", "../x"])
def test_an_invalid_name_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid secret name"):
        secrets.get_secret(name)


def test_a_missing_secret_raises_secret_unavailable(
    secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an ARN that Secrets Manager does not know (deleted, or another account's)
    monkeypatch.setenv("API_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    # THEN the error names the variable, the stage and the AWS error code
    with pytest.raises(secrets.SecretUnavailable) as raised:
        secrets.get_secret("api-key")
    assert (
        str(raised.value) == "could not read the secret in API_KEY_SECRET_ARN (AWSCURRENT): ResourceNotFoundException"
    )
    # AND a missing previous version of a missing secret is not mistaken for "no rotation yet"
    with pytest.raises(secrets.SecretUnavailable):
        secrets.secret_versions("api-key")


def test_no_value_in_logs_or_errors(
    declared: str, secrets_manager: SecretsManager, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN every log record captured, DEBUG included (botocore logs response bodies at DEBUG)
    # WHEN the secret is read, rotated (by the test, not captured), and read again
    with caplog.at_level(logging.DEBUG):
        secrets.secret_versions("api-key")
    secrets_manager.rotate(declared, ROTATED)
    with caplog.at_level(logging.DEBUG):
        secrets.secret_versions("api-key", refresh=True)
    # THEN the logs name the variable and show botocore's redacted bodies, but hold neither value
    assert "API_KEY_SECRET_ARN" in caplog.text
    assert "<redacted>" in caplog.text
    assert VALUE not in caplog.text
    assert ROTATED not in caplog.text


def test_importing_it_imports_neither_boto3_nor_powertools() -> None:
    # The gateway's authorizer imports stratus_common.tokens, which uses this module: it must stay light.
    code = (
        "import sys, stratus_common.secrets, stratus_common.database, stratus_common.tokens\n"
        "heavy = [m for m in ('boto3', 'botocore', 'aws_lambda_powertools', 'jwt', 'pydantic') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
