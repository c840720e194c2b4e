"""Access tokens: HS256 JWTs (RFC 9068 profile) issued by the idp, verified by the idp and the gateway.

**Why HS256 with a shared secret, not RS256/ES256 with a JWKS** (the full reasoning is in the idp's README):

- A revoked session's token must be refused *at once*, so every protected route is checked by the
  gateway's Lambda authorizer, which reads the session from DynamoDB. API Gateway's JWT authorizer,
  the main reason to publish RSA keys in a JWKS, is stateless: it cannot see a revocation before the
  token expires, so Stratus cannot use it for these routes anyway.
- HMAC needs no ``cryptography``: PyJWT verifies HS256 with the standard library. ``cryptography``
  would take the gateway's Lambda zip from ~4.6 MB to ~9 MB (the target is < 5 MB) and add ~25 ms
  to the authorizer's cold start.
- The cost: whoever can verify can sign. Only two functions hold the secret (the idp and the
  gateway), it comes from Secrets Manager, and rotation is supported (``TOKEN_SIGNING_SECRET_PREVIOUS``
  and the ``kid`` header).

Claims: ``iss``, ``aud``, ``sub`` (user id, or the client id), ``sid`` (the session), ``jti``, ``iat``,
``nbf``, ``exp``, ``kind`` (``user``/``client``), ``scope``, and ``preferred_username`` or ``client_id``.
Header: ``alg`` HS256, ``typ`` ``at+jwt``, ``kid``.

What :func:`verify_access_token` refuses: a bad signature, any algorithm but HS256 (``none`` included), a
header ``typ`` other than ``at+jwt``, an unknown ``kid``, a missing ``exp``/``nbf``/``iat``/``iss``/``aud``/
``sub``/``sid``/``jti``, an expired or not-yet-valid token (``leeway`` :data:`LEEWAY_SECONDS`), a wrong
issuer or audience. It does not check whether the session is revoked: that is
:meth:`stratus_common.sessions.SessionStore.active` (a DynamoDB read).

Where the secret comes from, first match wins:

1. ``TOKEN_SIGNING_SECRET`` (at least :data:`MIN_SECRET_LENGTH` characters; checked at start-up), and
   optionally ``TOKEN_SIGNING_SECRET_PREVIOUS``, still accepted for verification during a rotation;
2. ``TOKEN_SIGNING_SECRET_ID``: a Secrets Manager secret (name or ARN) read on first use; its value is
   the secret, or JSON ``{"current": "...", "previous": "..."}``;
3. in the local cloud only (:func:`stratus_common.environment.in_local_cloud`): a random secret that the
   first service to need it creates in the local cloud's Secrets Manager, as
   ``<project>-<env>-token-signing-secret``; the idp and the gateway then share it.

Otherwise start-up fails with :class:`~stratus_common.environment.ConfigurationError`.

Issuer and audience: ``TOKEN_ISSUER`` / ``TOKEN_AUDIENCE``, by default ``urn:stratus:<project>:<env>:idp``
and ``urn:stratus:<project>:<env>:api``, so that the idp and the gateway agree without configuration.

This module imports only the light part of the standard library: PyJWT, boto3 and uuid are imported on first
use, so importing it stays cheap for the gateway's authorizer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stratus_common.environment import ConfigurationError, environment, in_local_cloud, project

__all__ = [
    "ALGORITHM",
    "LEEWAY_SECONDS",
    "MAX_TOKEN_LENGTH",
    "MIN_SECRET_LENGTH",
    "PREVIOUS_SECRET_ENV",
    "REQUIRED_CLAIMS",
    "SECRET_ENV",
    "SECRET_ID_ENV",
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
    "local_secret_name",
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
SECRET_ID_ENV = "TOKEN_SIGNING_SECRET_ID"  # noqa: S105 - a variable name
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


def _secretsmanager() -> Any:
    """The Secrets Manager client (boto3 is imported now); short timeouts: it is read on a request's path."""
    from stratus_common.aws import FAST_CONFIG, client

    return client("secretsmanager", config=FAST_CONFIG)


def _from_secrets_manager(secret_id: str) -> SigningKeys:
    value = _secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    if isinstance(parsed, dict):
        current = parsed.get("current")
        if not isinstance(current, str):
            raise ConfigurationError(f'{SECRET_ID_ENV}: the secret\'s JSON needs a "current" string')
        previous = parsed.get("previous")
        return _keys(current, previous if isinstance(previous, str) else None, f"secret {SECRET_ID_ENV}")
    return _keys(str(value), None, f"secret {SECRET_ID_ENV}")


def local_secret_name(environ: Mapping[str, str] | None = None) -> str:
    """The name of the generated secret in the local cloud's Secrets Manager."""
    return f"{project(environ)}-{environment(environ)}-token-signing-secret"


def _local_generated(environ: Mapping[str, str]) -> SigningKeys:
    sm = _secretsmanager()
    name = local_secret_name(environ)
    try:
        value = sm.get_secret_value(SecretId=name)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        with contextlib.suppress(sm.exceptions.ResourceExistsException):  # another service was first: use theirs
            sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
        value = sm.get_secret_value(SecretId=name)["SecretString"]
    return _keys(value, None, f"the local cloud's secret {name}")


def check_configuration(environ: Mapping[str, str] | None = None) -> None:
    """The start-up check: raise :class:`ConfigurationError` unless a secret source is usable.

    Needs no network: a ``TOKEN_SIGNING_SECRET`` is checked (length), a ``TOKEN_SIGNING_SECRET_ID`` or
    the local cloud is accepted as a source and read on first use.
    """
    environ = os.environ if environ is None else environ
    current = environ.get(SECRET_ENV)
    if current:
        _keys(current, environ.get(PREVIOUS_SECRET_ENV) or None, SECRET_ENV)
        return
    if environ.get(SECRET_ID_ENV, "").strip() or in_local_cloud(environ):
        return
    raise ConfigurationError(
        f"{SECRET_ENV} is not set: give the token signing secret (at least {MIN_SECRET_LENGTH} characters; "
        f"in AWS from Secrets Manager, or name the secret in {SECRET_ID_ENV}). "
        "Only the local cloud (stratus dev) generates one."
    )


def load_keys(environ: Mapping[str, str] | None = None) -> SigningKeys:
    """Read the signing keys from their source (see the module's docstring)."""
    environ = os.environ if environ is None else environ
    check_configuration(environ)
    current = environ.get(SECRET_ENV)
    if current:
        return _keys(current, environ.get(PREVIOUS_SECRET_ENV) or None, SECRET_ENV)
    secret_id = environ.get(SECRET_ID_ENV, "").strip()
    if secret_id:
        return _from_secrets_manager(secret_id)
    return _local_generated(environ)


_lock = threading.Lock()
_cached: SigningKeys | None = None


def get_keys() -> SigningKeys:
    """The process's signing keys, loaded once."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = load_keys()
        return _cached


def reset_keys() -> None:
    """Forget the loaded keys (tests that change the environment call this)."""
    global _cached
    with _lock:
        _cached = None


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
    """
    import jwt

    keys = keys or get_keys()
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
    kid = header.get("kid")
    secret = keys.keys.get(kid) if isinstance(kid, str) else None
    if secret is None:
        raise InvalidToken("unknown signing key")
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
