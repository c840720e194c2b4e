"""stratus_common.tokens: what an access token must be to pass, and where the signing secret comes from.

The idp issues with it, the idp and the gateway verify with it (moved here from the gateway's tests, with the
idp's own tests of the same code).
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from stratus_common import tokens
from stratus_common.environment import ConfigurationError

if TYPE_CHECKING:
    from conftest import TokenKit


def _verify(token: str) -> dict[str, Any]:
    return tokens.verify_access_token(token)


def test_an_issued_token_is_accepted(kit: TokenKit) -> None:
    # GIVEN a token issued as the idp issues one, with the secret and environment the gateway has too
    token = tokens.issue_access_token(
        subject="user-1", session_id="sess-1", kind="user", scope="profile", ttl=600, username="alice"
    )
    # WHEN it is verified (as the gateway verifies it)
    claims = _verify(token)
    # THEN its claims come back
    assert (claims["sub"], claims["sid"], claims["preferred_username"]) == ("user-1", "sess-1", "alice")
    assert (claims["iss"], claims["aud"]) == (kit.issuer, kit.audience)


def test_issued_tokens_have_the_documented_shape(kit: TokenKit) -> None:
    token = tokens.issue_access_token(subject="u1", session_id="s1", kind="user", scope="profile", ttl=900)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": tokens.key_id(kit.secret.encode())}
    claims = tokens.verify_access_token(token)
    assert set(claims) == {"iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp", "kind", "scope"}


def test_a_client_token_names_its_client_and_lives_ttl_seconds(kit: TokenKit) -> None:
    token = tokens.issue_access_token(
        subject="reporting", session_id="s1", kind="client", scope="api", ttl=300, client_id="reporting", now=1000
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["kind"], claims["client_id"], claims["iat"], claims["nbf"], claims["exp"]) == (
        "client",
        "reporting",
        1000,
        1000,
        1300,
    )
    assert "preferred_username" not in claims


@pytest.mark.parametrize(
    ("environ", "issuer", "audience"),
    [
        ({}, "urn:stratus:stratus:local:idp", "urn:stratus:stratus:local:api"),
        ({"STRATUS_PROJECT": "acme", "STRATUS_ENV": "prod"}, "urn:stratus:acme:prod:idp", "urn:stratus:acme:prod:api"),
        ({"ENVIRONMENT": "staging"}, "urn:stratus:stratus:staging:idp", "urn:stratus:stratus:staging:api"),
        ({"TOKEN_ISSUER": " https://id.example ", "TOKEN_AUDIENCE": "api://x"}, "https://id.example", "api://x"),
    ],
)
def test_issuer_and_audience_default_to_the_project_and_environment(
    environ: dict[str, str], issuer: str, audience: str
) -> None:
    assert (tokens.issuer(environ), tokens.audience(environ)) == (issuer, audience)


@pytest.mark.parametrize(
    ("case", "overrides", "reason"),
    [
        # times relative to when the test runs (not when it is collected: a long suite outlives the offsets)
        ("expired", lambda now: {"iat": now - 3600, "nbf": now - 3600, "exp": now - 60}, "token expired"),
        ("not yet valid", lambda now: {"nbf": now + 300}, "token not yet valid"),
        ("issued in the future", lambda now: {"iat": now + 300, "nbf": now}, "token not yet valid"),
        ("wrong issuer", {"iss": "https://evil.example/idp"}, "wrong issuer"),
        ("wrong audience", {"aud": "urn:stratus:other:test:api"}, "wrong audience"),
        ("audience list", {"aud": ["urn:stratus:stratus:test:api", "x"]}, "wrong audience"),
        ("no exp", {"exp": None}, "missing claim exp"),
        ("no nbf", {"nbf": None}, "missing claim nbf"),
        ("no iat", {"iat": None}, "missing claim iat"),
        ("no iss", {"iss": None}, "missing claim iss"),
        ("no aud", {"aud": None}, "missing claim aud"),
        ("no sid", {"sid": None}, "missing claim sid"),
        ("no jti", {"jti": None}, "missing claim jti"),
        ("empty sub", {"sub": ""}, "invalid claim sub"),
    ],
)
def test_bad_claims_are_refused(kit: TokenKit, case: str, overrides: Any, reason: str) -> None:
    # GIVEN a correctly signed token whose claims are wrong in one way
    if callable(overrides):
        overrides = overrides(int(time.time()))
    token = kit.sign(kit.claims("user-1", "sess-1", **overrides))
    # WHEN it is verified
    # THEN it is refused, saying why
    with pytest.raises(tokens.InvalidToken, match=reason):
        _verify(token)


def test_a_token_signed_with_another_secret_is_refused(kit: TokenKit) -> None:
    # GIVEN a token forged with another secret but claiming the real key id
    forged = kit.sign(
        kit.claims("user-1", "sess-1"),
        secret="an-attacker-secret-that-is-long-enough-123",
        headers={"kid": tokens.key_id(kit.secret.encode())},
    )
    # THEN its signature does not verify
    with pytest.raises(tokens.InvalidToken, match="bad signature"):
        _verify(forged)


def test_a_tampered_payload_is_refused(kit: TokenKit) -> None:
    # GIVEN a valid token whose payload is swapped for another user's, keeping the signature
    genuine = kit.sign(kit.claims("user-1", "sess-1"))
    other = kit.sign(kit.claims("admin", "sess-1"))
    header, _, signature = genuine.split(".")
    tampered = f"{header}.{other.split('.')[1]}.{signature}"
    # THEN it is refused
    with pytest.raises(tokens.InvalidToken, match="bad signature"):
        _verify(tampered)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(kit: TokenKit, alg: str) -> None:
    # GIVEN an unsigned token ("alg": "none"), otherwise perfect
    token = kit.unsigned(
        kit.claims("user-1", "sess-1"), {"alg": alg, "typ": "at+jwt", "kid": tokens.key_id(kit.secret.encode())}
    )
    # THEN it is refused
    with pytest.raises(tokens.InvalidToken, match="unsupported algorithm"):
        _verify(token)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_algorithms_are_refused(kit: TokenKit, alg: str) -> None:
    # GIVEN a token signed with the right secret but another HMAC algorithm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the key is short for HS384/HS512: the attacker's problem
        token = jwt.encode(
            kit.claims("user-1", "sess-1"),
            kit.secret,
            algorithm=alg,
            headers={"typ": "at+jwt", "kid": tokens.key_id(kit.secret.encode())},
        )
    # THEN only HS256 is accepted
    with pytest.raises(tokens.InvalidToken, match="unsupported algorithm"):
        _verify(token)


def test_an_rs256_header_with_the_secret_as_public_key_is_refused(kit: TokenKit) -> None:
    # GIVEN the algorithm-confusion attack: an "RS256" token HMAC-signed with the secret
    token = kit.unsigned(
        kit.claims("user-1", "sess-1"), {"alg": "RS256", "typ": "at+jwt", "kid": tokens.key_id(kit.secret.encode())}
    )
    # THEN it is refused before any key is used
    with pytest.raises(tokens.InvalidToken, match="unsupported algorithm"):
        _verify(token + "c2lnbmF0dXJl")


@pytest.mark.parametrize(("typ", "kid"), [("JWT", None), (None, None), ("at+jwt", "0000000000000000"), ("at+jwt", "")])
def test_wrong_type_or_unknown_key_id_is_refused(kit: TokenKit, typ: str | None, kid: str | None) -> None:
    # GIVEN a correctly signed token that is not an access token, or names a key the gateway does not have
    headers: dict[str, Any] = {"typ": typ}
    if kid is not None:
        headers["kid"] = kid
    token = kit.sign(kit.claims("user-1", "sess-1"), headers=headers)
    # THEN it is refused
    with pytest.raises(tokens.InvalidToken):
        _verify(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "." * 3, "x" * 9000])
def test_garbage_is_refused(kit: TokenKit, garbage: str) -> None:
    with pytest.raises(tokens.InvalidToken):
        _verify(garbage)


def test_the_previous_secret_still_verifies_during_a_rotation(kit: TokenKit, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a token signed with the old secret, and the secret rotated with the old one kept as previous
    old_token = kit.sign(kit.claims("user-1", "sess-1"))
    monkeypatch.setenv("TOKEN_SIGNING_SECRET", "the-new-signing-secret-after-rotation-0001")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_PREVIOUS", kit.secret)
    tokens.reset_keys()
    # THEN the old token still verifies
    assert _verify(old_token)["sub"] == "user-1"
    # AND once the previous secret is dropped, it does not
    monkeypatch.delenv("TOKEN_SIGNING_SECRET_PREVIOUS")
    tokens.reset_keys()
    with pytest.raises(tokens.InvalidToken, match="unknown signing key"):
        _verify(old_token)


# ------------------------------------------------------------------------------------------- the secret


@pytest.mark.parametrize(
    "secret", ["short", "x" * 31, "your-very-secure-secret-at-least-32-characters-long"], ids=["short", "31", "example"]
)
def test_a_weak_secret_fails_the_start_up_check(secret: str) -> None:
    # GIVEN a secret that is too short, or the documentation's example
    # THEN the start-up check refuses it, without echoing it
    with pytest.raises(ConfigurationError, match="TOKEN_SIGNING_SECRET") as raised:
        tokens.check_configuration({"TOKEN_SIGNING_SECRET": secret})
    assert secret not in str(raised.value)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"STRATUS_ENV": "dev"},
        # the local cloud: it no longer makes a key up; it provides the declared secret, as AWS does
        {"STRATUS_ENV": "dev", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
        {"STRATUS_ENV": "prod", "TOKEN_SIGNING_SECRET_ARN": "  "},
    ],
)
def test_no_key_source_fails_the_start_up_check_with_the_fix(environ: dict[str, str]) -> None:
    # GIVEN neither TOKEN_SIGNING_SECRET nor TOKEN_SIGNING_SECRET_ARN
    # THEN the start-up check fails, saying to declare the secret and use it
    with pytest.raises(ConfigurationError) as raised:
        tokens.check_configuration(environ)
    message = str(raised.value)
    assert "TOKEN_SIGNING_SECRET_ARN is not set" in message
    assert "[secrets.token-signing]" in message
    assert 'uses = { token-signing = "read" }' in message


def test_the_old_secret_id_variable_is_named_as_no_longer_read() -> None:
    with pytest.raises(ConfigurationError, match="TOKEN_SIGNING_SECRET_ID is no longer read"):
        tokens.check_configuration({"TOKEN_SIGNING_SECRET_ID": "prod/token", "STRATUS_ENV": "prod"})


def test_the_declared_secret_passes_the_start_up_check_without_a_call() -> None:
    # GIVEN only the ARN (no network here: the check must not read the secret)
    environ = {"TOKEN_SIGNING_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf"}
    # THEN the start-up check passes
    tokens.check_configuration(environ)
