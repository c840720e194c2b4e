"""stratus_common.tokens with the manifest's [secrets.token-signing] (TOKEN_SIGNING_SECRET_ARN): TTL, rotation
(AWSPREVIOUS keeps old tokens valid for one rotation), the refetch on an unknown kid and its rate limit."""

from __future__ import annotations

import logging
import secrets as random_secrets
from typing import TYPE_CHECKING

import jwt
import pytest
from stratus_common import secrets, tokens
from stratus_common.environment import ConfigurationError

if TYPE_CHECKING:
    from conftest import FakeClock, SecretsManager, TokenKit

FIRST = "first-token-signing-key-0123456789abcdefghij"
SECOND = "second-token-signing-key-0123456789abcdefghi"
THIRD = "third-token-signing-key-0123456789abcdefghij"


@pytest.fixture
def arn(kit: TokenKit, secrets_manager: SecretsManager, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> str:
    """[secrets.token-signing] holding FIRST, its ARN in TOKEN_SIGNING_SECRET_ARN, no TOKEN_SIGNING_SECRET."""
    created = secrets_manager.create("acme-test-token-signing", FIRST)
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_ARN", created)
    tokens.reset_keys()
    return created


def _issue() -> str:
    return tokens.issue_access_token(subject="user-1", session_id="sess-1", kind="user", scope="profile", ttl=900)


def _signed_with(kit: TokenKit, secret: str) -> str:
    return kit.sign(kit.claims("user-1", "sess-1"), secret=secret, headers={"kid": kit.kid(secret)})


def test_the_key_is_the_secrets_current_value(arn: str, kit: TokenKit, secrets_manager: SecretsManager) -> None:
    # WHEN the idp issues a token (the secret is read now, on first use)
    assert secrets_manager.reads() == 0
    token = _issue()
    # THEN it is signed with AWSCURRENT and verifies
    assert tokens.get_keys().current == FIRST.encode()
    assert jwt_kid(token) == kit.kid(FIRST)
    assert tokens.verify_access_token(token)["sub"] == "user-1"


def test_the_keys_are_read_once_per_ttl(arn: str, secrets_manager: SecretsManager, clock: FakeClock) -> None:
    # GIVEN many tokens issued and verified within the TTL
    for _ in range(10):
        tokens.verify_access_token(_issue())
        clock.advance(20)
    # THEN the secret was read once: AWSCURRENT and AWSPREVIOUS (absent before the first rotation)
    assert secrets_manager.calls == [(arn, "AWSCURRENT"), (arn, "AWSPREVIOUS")]
    # AND again once the TTL is over
    clock.advance(150)
    tokens.get_keys()
    assert secrets_manager.reads() == 4


def test_a_token_signed_before_a_rotation_verifies_until_the_next_one(
    arn: str, secrets_manager: SecretsManager, clock: FakeClock
) -> None:
    # GIVEN a token signed with the first key
    old = _issue()
    # WHEN the secret is rotated and the TTL has passed (the new keys are read)
    secrets_manager.rotate(arn, SECOND)
    clock.advance(secrets.DEFAULT_MAX_AGE)
    new = _issue()
    # THEN new tokens are signed with the new key, and the old token still verifies (AWSPREVIOUS)
    assert tokens.get_keys().current == SECOND.encode()
    assert jwt_kid(new) != jwt_kid(old)
    assert tokens.verify_access_token(old)["sub"] == "user-1"
    assert tokens.verify_access_token(new)["sub"] == "user-1"
    # AND after a second rotation the first key is gone: the old token is refused, the second key's still verifies
    secrets_manager.rotate(arn, THIRD)
    clock.advance(secrets.DEFAULT_MAX_AGE)
    with pytest.raises(tokens.InvalidToken, match="unknown signing key"):
        tokens.verify_access_token(old)
    assert tokens.verify_access_token(new)["sub"] == "user-1"


def test_a_token_signed_with_a_key_not_seen_yet_verifies_after_one_refetch(
    arn: str, kit: TokenKit, secrets_manager: SecretsManager
) -> None:
    # GIVEN the verifier's keys read (the gateway), then the secret rotated, and the idp already signing with it
    tokens.get_keys()
    secrets_manager.rotate(arn, SECOND)
    token = _signed_with(kit, SECOND)
    before = secrets_manager.reads()
    # WHEN the token arrives, within the verifier's TTL
    claims = tokens.verify_access_token(token)
    # THEN it verifies, after one re-read of the secret (both stages)
    assert claims["sub"] == "user-1"
    assert secrets_manager.reads() - before == 2
    # AND the re-read keys are kept: the next tokens need no read
    tokens.verify_access_token(_signed_with(kit, SECOND))
    tokens.verify_access_token(_signed_with(kit, FIRST))  # the previous key, still accepted
    assert secrets_manager.reads() - before == 2


def test_forged_kids_cause_at_most_one_refetch_per_interval(
    arn: str, kit: TokenKit, secrets_manager: SecretsManager, clock: FakeClock
) -> None:
    # GIVEN the keys read
    tokens.get_keys()
    before = secrets_manager.reads()

    def forged() -> str:
        kid = random_secrets.token_hex(8)  # looks like one of our kids
        return kit.sign(kit.claims("user-1", "sess-1"), secret=FIRST, headers={"kid": kid})

    # WHEN a flood of tokens with unknown kids arrives
    for _ in range(50):
        with pytest.raises(tokens.InvalidToken, match="unknown signing key"):
            tokens.verify_access_token(forged())
        clock.advance(0.1)
    # THEN the secret was re-read once (its two stages), not fifty times
    assert secrets_manager.reads() - before == 2
    # AND once the interval has passed, once more
    clock.advance(tokens.REFETCH_INTERVAL)
    for _ in range(10):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify_access_token(forged())
    assert secrets_manager.reads() - before == 4


@pytest.mark.parametrize("kid", ["not-a-kid", "ABCDEF0123456789", "0123456789abcdef\n", "0" * 17])
def test_a_kid_that_cannot_be_ours_causes_no_refetch(
    arn: str, kit: TokenKit, secrets_manager: SecretsManager, kid: str
) -> None:
    tokens.get_keys()
    before = secrets_manager.reads()
    token = kit.sign(kit.claims("user-1", "sess-1"), secret=FIRST, headers={"kid": kid})
    with pytest.raises(tokens.InvalidToken, match="unknown signing key"):
        tokens.verify_access_token(token)
    assert secrets_manager.reads() == before


def test_explicit_keys_win_and_are_never_refetched(
    arn: str, kit: TokenKit, secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN both TOKEN_SIGNING_SECRET and TOKEN_SIGNING_SECRET_ARN
    monkeypatch.setenv("TOKEN_SIGNING_SECRET", kit.secret)
    tokens.reset_keys()
    # THEN the explicit value is the key, and an unknown kid reads nothing
    assert tokens.get_keys().current == kit.secret.encode()
    with pytest.raises(tokens.InvalidToken, match="unknown signing key"):
        tokens.verify_access_token(_signed_with(kit, FIRST))
    assert secrets_manager.reads() == 0


def test_a_short_secret_is_refused_on_first_use_naming_the_variable(
    kit: TokenKit, secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a declared secret whose value is too short
    weak = "weak-but-not-empty"
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_ARN", secrets_manager.create("acme-test-weak", weak))
    tokens.reset_keys()
    # THEN start-up passes (no read), and the first use fails naming the variable, not the value
    tokens.check_configuration()
    with pytest.raises(ConfigurationError, match="TOKEN_SIGNING_SECRET_ARN") as raised:
        _issue()
    assert weak not in str(raised.value)
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        tokens.verify_access_token(_signed_with(kit, FIRST))


def test_a_weak_previous_value_is_dropped(
    kit: TokenKit, secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a secret rotated from a weak value to a strong one
    weak = "weak-but-not-empty"
    created = secrets_manager.create("acme-test-was-weak", weak)
    secrets_manager.rotate(created, SECOND)
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET_ARN", created)
    tokens.reset_keys()
    # THEN the strong one is the only key, with a warning that names no value
    with caplog.at_level(logging.WARNING):
        keys = tokens.get_keys()
    assert list(keys.keys) == [kit.kid(SECOND)]
    assert "ignoring the previous key" in caplog.text
    assert weak not in caplog.text


def test_no_key_in_logs_or_errors(
    arn: str, kit: TokenKit, secrets_manager: SecretsManager, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN every record captured at DEBUG, WHEN keys are read, rotated (by the test), refetched for a new kid
    with caplog.at_level(logging.DEBUG):
        old = _issue()
    secrets_manager.rotate(arn, SECOND)
    with caplog.at_level(logging.DEBUG):
        tokens.verify_access_token(_signed_with(kit, SECOND))
        tokens.verify_access_token(old)
        with pytest.raises(tokens.InvalidToken) as raised:
            tokens.verify_access_token(_signed_with(kit, THIRD))
    # THEN neither logs nor errors hold a key
    for key in (FIRST, SECOND):
        assert key not in caplog.text
        assert key not in str(raised.value)
    assert "unknown key" in caplog.text  # the refetch is logged
    assert FIRST not in repr(tokens.get_keys())


def jwt_kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])
