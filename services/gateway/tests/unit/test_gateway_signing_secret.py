"""The gateway with its signing key in the manifest's [secrets.token-signing] (TOKEN_SIGNING_SECRET_ARN): import and
/health without a read, the authorizer across rotations, a key it has not seen yet, and Secrets Manager failing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from gateway import authorizer
from stratus_common import secrets, tokens

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud, TokenKit
    from fastapi.testclient import TestClient

FIRST = "gateway-first-signing-key-0123456789abcdefg"
SECOND = "gateway-second-signing-key-0123456789abcdef"
THIRD = "gateway-third-signing-key-0123456789abcdefg"


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
    """[secrets.token-signing] in moto holding FIRST; only its ARN in the environment; a token route."""
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = str(sm.create_secret(Name="stratus-test-token-signing", SecretString=FIRST)["ARN"])
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_ARN", arn)
    monkeypatch.setenv(
        "STRATUS_ROUTES", json.dumps({"ANY /players": {"auth": "token"}, "ANY /players/{proxy+}": {"auth": "token"}})
    )
    authorizer.reset()
    return arn


def _rotate(arn: str, value: str) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(SecretId=arn, SecretString=value)


@pytest.fixture
def token_for(cloud: Cloud, kit: TokenKit) -> Callable[[str], str]:
    """A token of a new active session, signed with the given key (and its kid), as the idp signs."""
    return lambda secret: kit.sign(kit.claims("user-1", cloud.create_session("user-1")), secret=secret)


def _allowed(token: str, authorizer_event: Callable[..., dict[str, Any]]) -> bool:
    event = authorizer_event("ANY /players/{proxy+}", "/players/1", headers={"authorization": f"Bearer {token}"})
    return bool(authorizer.handler(event, None)["isAuthorized"])


def test_the_gateway_imports_and_answers_health_with_only_the_arn_and_no_network() -> None:
    # GIVEN fresh interpreters with TOKEN_SIGNING_SECRET_ARN, no TOKEN_SIGNING_SECRET, and an AWS endpoint that
    # refuses connections: any Secrets Manager call would fail
    code = textwrap.dedent(
        """
        import warnings
        from gateway import authorizer, main
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
    # THEN both modules import (their start-up checks pass) and /health answers
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_the_authorizer_accepts_the_previous_key_for_one_rotation(
    signing_secret: str,
    token_for: Callable[[str], str],
    clock: Clock,
    authorizer_event: Callable[..., dict[str, Any]],
) -> None:
    # GIVEN a token signed with the first key, accepted
    old = token_for(FIRST)
    assert _allowed(old, authorizer_event)
    # WHEN the secret is rotated and the cache has expired
    _rotate(signing_secret, SECOND)
    clock.now += secrets.DEFAULT_MAX_AGE
    # THEN the old token and the new key's are accepted
    assert _allowed(old, authorizer_event)
    assert _allowed(token_for(SECOND), authorizer_event)
    # AND after the next rotation the old one is not
    _rotate(signing_secret, THIRD)
    clock.now += secrets.DEFAULT_MAX_AGE
    assert not _allowed(old, authorizer_event)


def test_the_authorizer_learns_a_new_key_from_the_token_that_uses_it(
    signing_secret: str, token_for: Callable[[str], str], authorizer_event: Callable[..., dict[str, Any]]
) -> None:
    # GIVEN the authorizer's keys cached, then a rotation the idp saw first (its token uses the new key)
    assert _allowed(token_for(FIRST), authorizer_event)
    _rotate(signing_secret, SECOND)
    # THEN the new key's token is accepted at once (one re-read), and the old key's still is
    assert _allowed(token_for(SECOND), authorizer_event)
    assert _allowed(token_for(FIRST), authorizer_event)
    # AND a token signed with a key that is not in the secret is refused
    assert not _allowed(token_for(THIRD), authorizer_event)


def test_secrets_manager_failing_denies_and_raises_in_the_authorizer_but_not_in_the_rate_limiter(
    token_for: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    authorizer_event: Callable[..., dict[str, Any]],
    client: TestClient,
) -> None:
    # GIVEN an ARN that Secrets Manager refuses (here: a secret that does not exist)
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    monkeypatch.setenv(
        "STRATUS_ROUTES", json.dumps({"ANY /players": {"auth": "token"}, "ANY /players/{proxy+}": {"auth": "token"}})
    )
    authorizer.reset()
    token = token_for(FIRST)
    # THEN the authorizer raises (API Gateway answers 500): it never allows
    with pytest.raises(secrets.SecretUnavailable, match="TOKEN_SIGNING_SECRET_ARN"):
        _allowed(token, authorizer_event)
    # AND the gateway's own routes count the request against the IP instead of failing
    response = client.get("/no-such-route", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert tokens._cached is None
