"""The idp with its signing key in the manifest's [secrets.token-signing] (TOKEN_SIGNING_SECRET_ARN), as in AWS and
in the local cloud: start-up without a read, tokens across rotations, refresh tokens untouched by a rotation."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest
from stratus_common import secrets, tokens

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

FIRST = "idp-first-signing-key-0123456789abcdefghijk"
SECOND = "idp-second-signing-key-0123456789abcdefghij"
THIRD = "idp-third-signing-key-0123456789abcdefghijk"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(secrets, "clock", fake)
    return fake


@pytest.fixture
def signing_secret(cloud: Cloud, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> str:
    """[secrets.token-signing] in moto holding FIRST; only its ARN in the environment."""
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = str(sm.create_secret(Name="stratus-test-token-signing", SecretString=FIRST)["ARN"])
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_ARN", arn)
    tokens.reset_keys()
    return arn


def _rotate(arn: str, value: str, clock: Clock) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(SecretId=arn, SecretString=value)
    clock.now += secrets.DEFAULT_MAX_AGE  # the running functions' caches expire


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_the_idp_imports_and_answers_health_with_only_the_arn_and_no_network() -> None:
    # GIVEN a fresh interpreter with TOKEN_SIGNING_SECRET_ARN, no TOKEN_SIGNING_SECRET, and an AWS endpoint that
    # refuses connections: any Secrets Manager call would fail
    code = textwrap.dedent(
        """
        import warnings
        from idp import main
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
        from stratus_common import tokens
        with TestClient(main.app) as client:
            response = client.get("/health")
        assert response.status_code == 200, response.text
        assert tokens._cached is None  # the key was not read
        print("ok")
        """
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TOKEN_", "AWS_ENDPOINT_URL"))}
    environ |= {
        "TOKEN_SIGNING_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    # THEN the import's start-up check passes and /health answers
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_the_idp_refuses_to_start_without_a_key_source() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    result = subprocess.run(
        [sys.executable, "-c", "import idp.main"], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert "[secrets.token-signing]" in result.stderr


def test_tokens_survive_one_rotation_and_refresh_tokens_any(
    signing_secret: str,
    alice: str,
    client: TestClient,
    login: Callable[..., Any],
    authorize: Callable[[str], bool],
    clock: Clock,
) -> None:
    # GIVEN alice's tokens, signed with the secret's current value
    first = login().json()
    old_access = first["access_token"]
    assert _kid(old_access) == tokens.key_id(FIRST.encode())
    # WHEN the secret is rotated (and the caches have expired)
    _rotate(signing_secret, SECOND, clock)
    # THEN new tokens are signed with the new key, and the old access token still works (AWSPREVIOUS):
    # at /auth/userinfo and at the gateway's authorizer
    second = client.post("/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert _kid(second["access_token"]) == tokens.key_id(SECOND.encode())
    for token in (old_access, second["access_token"]):
        assert client.get("/userinfo", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert authorize(token)
    # AND after a second rotation the first key's token is refused
    _rotate(signing_secret, THIRD, clock)
    refused = client.get("/userinfo", headers={"authorization": f"Bearer {old_access}"})
    assert refused.status_code == 401
    assert not authorize(old_access)
    # BUT the refresh token (not signed: a random value stored hashed) still works, two rotations later
    third = client.post("/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200, third.text
    assert _kid(third.json()["access_token"]) == tokens.key_id(THIRD.encode())
    assert authorize(third.json()["access_token"])
