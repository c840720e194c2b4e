"""Access tokens: HS256 JWTs (RFC 9068 profile) issued by the idp, verified by the idp and the gateway.

**Why HS256 with a shared secret, not RS256/ES256 with a JWKS** (the full reasoning is in the idp's README):

- A revoked session's token must be refused *at once*, so every protected route is checked by the
  gateway's Lambda authorizer, which reads the session from DynamoDB. API Gateway's JWT authorizer,
  the main reason to publish RSA keys in a JWKS, is stateless: it cannot see a revocation before the
  token expires, so Stratus cannot use it for these routes anyway.
- HMAC needs no ``cryptography``: PyJWT verifies HS256 with the standard library. ``cryptography``
  would take the gateway's Lambda zip from ~4.6 MB to ~9 MB (the target is < 5 MB) and add ~25 ms
  to the authorizer's cold start.
- The cost: whoever can verify can sign. Only two services hold the secret (the idp and the
  gateway), it comes from Secrets Manager, and rotation is supported (``AWSPREVIOUS`` and the ``kid`` header).

Claims: ``iss``, ``aud``, ``sub`` (user id, or the client id), ``sid`` (the session), ``jti``, ``iat``,
``nbf``, ``exp``, ``kind`` (``user``/``client``), ``scope``, and ``preferred_username`` or ``client_id``.
Header: ``alg`` HS256, ``typ`` ``at+jwt``, ``kid``.

What :func:`verify_access_token` refuses: a bad signature, any algorithm but HS256 (``none`` included), a
header ``typ`` other than ``at+jwt``, an unknown ``kid``, a missing ``exp``/``nbf``/``iat``/``iss``/``aud``/
``sub``/``sid``/``jti``, an expired or not-yet-valid token (``leeway`` :data:`LEEWAY_SECONDS`), a wrong
issuer or audience. It does not check whether the session is revoked: that is
:meth:`stratus_common.sessions.SessionStore.active` (a DynamoDB read).

Where the key comes from, first match wins:

1. ``TOKEN_SIGNING_SECRET`` (at least :data:`MIN_SECRET_LENGTH` characters; checked at start-up), and optionally
   ``TOKEN_SIGNING_SECRET_PREVIOUS``, still accepted for verification: explicit values, for tests and for whoever
   injects the key themselves. Read once per process.
2. ``TOKEN_SIGNING_SECRET_ARN``: the manifest's ``[secrets.token-signing]``, listed in the service's ``uses``
   (``uses = { token-signing = "read" }``), in AWS and in the local cloud alike. Read on first use, not at
   start-up, through :mod:`stratus_common.secrets`: the key is the secret's ``AWSCURRENT`` value; its
   ``AWSPREVIOUS`` value (after a rotation) is still accepted for verification, so tokens signed before a rotation
   stay valid until the next one. Both are re-read after the secrets' TTL (``STRATUS_SECRETS_MAX_AGE``, 300 s), so
   a running function sees a rotation within it; and a token whose ``kid`` matches neither key (the idp already
   signs with the new key, this function's cache predates the rotation) makes the verifier re-read the secret
   once before refusing, at most once per :data:`REFETCH_INTERVAL` seconds per process, so a flood of forged
   ``kid`` values cannot hammer Secrets Manager. A value shorter than :data:`MIN_SECRET_LENGTH` is refused on
   first use (:class:`~stratus_common.environment.ConfigurationError` naming the variable, never the value); a
   weak ``AWSPREVIOUS`` is dropped with a warning.

Otherwise start-up (:func:`check_configuration`, run when the idp and the gateway are imported) fails with
:class:`~stratus_common.environment.ConfigurationError`: declare ``[secrets.token-signing]`` and add it to the
service's ``uses``. Rotate with ``aws secretsmanager put-secret-value --secret-id <arn> --secret-string "$(openssl
rand -base64 48)"``: ``AWSCURRENT`` moves to the new value, the old one becomes ``AWSPREVIOUS``.

Issuer and audience: ``TOKEN_ISSUER`` / ``TOKEN_AUDIENCE``, by default ``urn:stratus:<project>:<env>:idp``
and ``urn:stratus:<project>:<env>:api``, so that the idp and the gateway agree without configuration.

This module imports only the light part of the standard library: PyJWT, boto3, uuid and
:mod:`stratus_common.secrets` are imported on first use, so importing it stays cheap for the gateway's authorizer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stratus_common.environment import ConfigurationError, environment, project

__all__ = [
    "ALGORITHM",
    "LEEWAY_SECONDS",
    "MAX_TOKEN_LENGTH",
    "MIN_SECRET_LENGTH",
    "PREVIOUS_SECRET_ENV",
    "REFETCH_INTERVAL",
    "REQUIRED_CLAIMS",
    "SECRET_ARN_ENV",
    "SECRET_ENV",
    "SECRET_NAME",
    "TOKEN_TYPE",
    "InvalidToken",
    "SigningKeys",
    "audience",
    "check_configuration",
    "get_keys",
    "issue_access_token",
    "issuer",
    "key_id",
    "load_keys",
    "reset_keys",
    "verify_access_token",
]

ALGORITHM = "HS256"
# RFC 9068: a JWT access token, so another kind of JWT signed with the key is refused.
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a header value, not a secret
LEEWAY_SECONDS = 5
MIN_SECRET_LENGTH = 32
MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp")
SECRET_ENV = "TOKEN_SIGNING_SECRET"  # noqa: S105 - a variable name
PREVIOUS_SECRET_ENV = "TOKEN_SIGNING_SECRET_PREVIOUS"  # noqa: S105 - a variable name
SECRET_NAME = "token-signing"  # noqa: S105 - the manifest's [secrets.token-signing]
SECRET_ARN_ENV = "TOKEN_SIGNING_SECRET_ARN"  # noqa: S105 - a variable name: secrets.secret_env_var(SECRET_NAME)
REFETCH_INTERVAL = 10.0
"""Seconds between two re-reads of the secret caused by an unknown ``kid`` (per process)."""
_LEGACY_SECRET_ID_ENV = "TOKEN_SIGNING_SECRET_ID"  # noqa: S105 - no longer read; named in the start-up error
_KID = re.compile(r"[0-9a-f]{16}")  # what key_id() gives: anything else cannot be a key of ours
logger = logging.getLogger("stratus_common.tokens")
_EXAMPLE_SECRETS = frozenset({"your-very-secure-secret-at-least-32-characters-long"})  # the seeds' placeholder


class InvalidToken(Exception):
    """The token is not acceptable. The message says why, and never contains the token."""


@dataclass(frozen=True)
class SigningKeys:
    """The current signing secret and any previous ones still accepted, by key id."""

    current_kid: str
    keys: Mapping[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_kid]

    def __repr__(self) -> str:  # never print the secrets
        return f"SigningKeys(current_kid={self.current_kid!r}, kids={sorted(self.keys)!r})"


def issuer(environ: Mapping[str, str] | None = None) -> str:
    """``TOKEN_ISSUER``, else ``urn:stratus:<project>:<env>:idp``."""
    environ = os.environ if environ is None else environ
    return environ.get("TOKEN_ISSUER", "").strip() or f"urn:stratus:{project(environ)}:{environment(environ)}:idp"


def audience(environ: Mapping[str, str] | None = None) -> str:
    """``TOKEN_AUDIENCE``, else ``urn:stratus:<project>:<env>:api``."""
    environ = os.environ if environ is None else environ
    return environ.get("TOKEN_AUDIENCE", "").strip() or f"urn:stratus:{project(environ)}:{environment(environ)}:api"


_default_issuer, _default_audience = issuer, audience  # verify_access_token's parameters shadow these names


def key_id(secret: bytes) -> str:
    """The ``kid`` of a secret: 16 hex digits of a hash of it (tells secrets apart, reveals nothing)."""
    return hashlib.sha256(b"stratus-token-key-id:" + secret).hexdigest()[:16]


def _validated(value: str, source: str) -> bytes:
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{source} must be at least {MIN_SECRET_LENGTH} characters (got {len(value)}); generate one with "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    if value in _EXAMPLE_SECRETS:
        raise ConfigurationError(f"{source} is the documentation's example value; generate a real secret")
    return value.encode()


def _keys(current: str, previous: str | None, source: str) -> SigningKeys:
    secret = _validated(current, source)
    keys = {key_id(secret): secret}
    if previous:
        old = _validated(previous, f"{source} (previous)")
        keys.setdefault(key_id(old), old)
    return SigningKeys(current_kid=key_id(secret), keys=keys)


def _from_secret(current: str, previous: str | None) -> SigningKeys:
    """The keys of ``TOKEN_SIGNING_SECRET_ARN``'s two versions; a weak previous one is dropped, not fatal."""
    if previous is not None:
        try:
            _validated(previous, f"the secret in {SECRET_ARN_ENV} (AWSPREVIOUS)")
        except ConfigurationError as exc:
            logger.warning("token signing: ignoring the previous key: %s", exc)
            previous = None
    return _keys(current, previous, f"the secret in {SECRET_ARN_ENV} (AWSCURRENT)")


def _secret_values(environ: Mapping[str, str], *, refresh: bool) -> tuple[str, str | None]:
    from stratus_common import secrets

    arn = environ.get(SECRET_ARN_ENV, "").strip()
    current = secrets.read_secret(arn, refresh=refresh, label=SECRET_ARN_ENV)
    previous = secrets.read_secret(arn, stage=secrets.PREVIOUS, refresh=refresh, label=SECRET_ARN_ENV)
    if current is None:  # cannot happen: a missing AWSCURRENT raises
        raise secrets.SecretUnavailable(f"the secret in {SECRET_ARN_ENV} has no AWSCURRENT version")
    return current, previous


def check_configuration(environ: Mapping[str, str] | None = None) -> None:
    """The start-up check: raise :class:`ConfigurationError` unless a key source is usable.

    Needs no network: a ``TOKEN_SIGNING_SECRET`` is checked (length), a ``TOKEN_SIGNING_SECRET_ARN`` is accepted
    as a source and read on first use.
    """
    environ = os.environ if environ is None else environ
    current = environ.get(SECRET_ENV)
    if current:
        _keys(current, environ.get(PREVIOUS_SECRET_ENV) or None, SECRET_ENV)
        return
    if environ.get(SECRET_ARN_ENV, "").strip():
        return
    legacy = (
        f" ({_LEGACY_SECRET_ID_ENV} is no longer read: the secret is declared in the manifest)"
        if environ.get(_LEGACY_SECRET_ID_ENV, "").strip()
        else ""
    )
    raise ConfigurationError(
        f"{SECRET_ARN_ENV} is not set, so this service has no token signing key: declare [secrets.{SECRET_NAME}] "
        f'in stratus.toml and add it to the `uses` of the service (uses = {{ {SECRET_NAME} = "read" }}); '
        f"or give the key itself in {SECRET_ENV} (at least {MIN_SECRET_LENGTH} characters){legacy}"
    )


def load_keys(environ: Mapping[str, str] | None = None, *, refresh: bool = False) -> SigningKeys:
    """Read the signing keys from their source (see the module's docstring); *refresh* re-reads the secret now."""
    environ = os.environ if environ is None else environ
    check_configuration(environ)
    current = environ.get(SECRET_ENV)
    if current:
        return _keys(current, environ.get(PREVIOUS_SECRET_ENV) or None, SECRET_ENV)
    return _from_secret(*_secret_values(environ, refresh=refresh))


_lock = threading.Lock()
_cached: SigningKeys | None = None
_cached_from: tuple[str, str | None] | None = None  # the secret's values _cached was made from (source 2)
_last_refetch: float | None = None


def get_keys(*, refresh: bool = False) -> SigningKeys:
    """The process's signing keys: ``TOKEN_SIGNING_SECRET`` read once, or the secret's, re-read after its TTL.

    *refresh* re-reads the secret now (what an unknown ``kid`` does, at most once per :data:`REFETCH_INTERVAL`).
    """
    global _cached, _cached_from
    environ = os.environ
    if environ.get(SECRET_ENV):
        with _lock:
            if _cached is None or _cached_from is not None:
                _cached, _cached_from = load_keys(environ), None
            return _cached
    check_configuration(environ)
    values = _secret_values(environ, refresh=refresh)  # cached by stratus_common.secrets for its TTL
    with _lock:
        if _cached is None or _cached_from != values:  # the first read, or a rotation: hash the new keys once
            _cached, _cached_from = _from_secret(*values), values
        return _cached


def _refetched_keys() -> SigningKeys | None:
    """The keys re-read from the secret, or ``None`` if they cannot change or were re-read less than
    :data:`REFETCH_INTERVAL` seconds ago."""
    global _last_refetch
    if os.environ.get(SECRET_ENV) or not os.environ.get(SECRET_ARN_ENV, "").strip():
        return None  # explicit values: nothing newer to read
    from stratus_common import secrets

    with _lock:
        now = secrets.clock()
        if _last_refetch is not None and now - _last_refetch < REFETCH_INTERVAL:
            return None
        _last_refetch = now
    logger.info("token signing: a token names an unknown key; re-reading %s", SECRET_ARN_ENV)
    return get_keys(refresh=True)


def reset_keys() -> None:
    """Forget the loaded keys and the cached secret values (tests that change the environment call this)."""
    global _cached, _cached_from, _last_refetch
    from stratus_common import secrets

    with _lock:
        _cached, _cached_from, _last_refetch = None, None, None
    secrets.clear_cache()


def issue_access_token(
    *,
    subject: str,
    session_id: str,
    kind: str,
    scope: str,
    ttl: int,
    username: str | None = None,
    client_id: str | None = None,
    keys: SigningKeys | None = None,
    now: float | None = None,
) -> str:
    """Sign an access token for *subject* in session *session_id*, valid for *ttl* seconds."""
    import uuid  # here, like jwt: only the idp issues, and uuid pulls in platform (~3 ms on the authorizer's import)

    import jwt

    keys = keys or get_keys()
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer(),
        "aud": audience(),
        "sub": subject,
        "sid": session_id,
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "kind": kind,
        "scope": scope,
    }
    if username is not None:
        claims["preferred_username"] = username
    if client_id is not None:
        claims["client_id"] = client_id
    return jwt.encode(claims, keys.current, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE, "kid": keys.current_kid})


def _key_for(kid: object, keys: SigningKeys, *, refetch: bool) -> bytes:
    """The key a token's ``kid`` names; an unknown one re-reads the secret first (rotation), if *refetch*."""
    if not isinstance(kid, str):
        raise InvalidToken("unknown signing key")
    secret = keys.keys.get(kid)
    if secret is None and refetch and _KID.fullmatch(kid):
        refetched = _refetched_keys()  # signed with a key newer than ours? At most once per REFETCH_INTERVAL
        secret = refetched.keys.get(kid) if refetched is not None else None
    if secret is None:
        raise InvalidToken("unknown signing key")
    return secret


def verify_access_token(
    token: str,
    *,
    keys: SigningKeys | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> dict[str, Any]:
    """Return the claims of a valid access token; raise :class:`InvalidToken` otherwise.

    Checks the signature (HS256 only, by ``kid``), the ``typ``, every claim of :data:`REQUIRED_CLAIMS`,
    the validity period, the issuer and the audience (by default :func:`issuer` and :func:`audience`).
    Does NOT check whether the session is revoked: the caller does (a DynamoDB read).

    Without *keys*, the process's (:func:`get_keys`); a ``kid`` they do not know makes them re-read the secret
    once (see the module's docstring) before the token is refused.
    """
    import jwt

    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise InvalidToken("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unsupported algorithm")
    if header.get("typ") != TOKEN_TYPE:
        raise InvalidToken("not an access token")
    secret = _key_for(header.get("kid"), keys or get_keys(), refetch=keys is None)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer or _default_issuer(),
            audience=audience or _default_audience(),
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("token not yet valid") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("wrong issuer") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("wrong audience") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"missing claim {exc.claim}") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad signature") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("invalid token") from None
    for claim in ("sub", "sid", "jti"):
        if not isinstance(claims.get(claim), str) or not claims[claim]:
            raise InvalidToken(f"invalid claim {claim}")
    return claims
