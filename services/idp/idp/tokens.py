"""Access tokens: HS256 JWTs (RFC 9068 profile) signed and verified with PyJWT.

**Why HS256 with a shared secret, not RS256/ES256 with a JWKS** (also in the README):

- A revoked session's token must be refused *at once*, so every protected route is checked by the
  gateway's Lambda authorizer, which reads the session from DynamoDB. API Gateway's JWT authorizer,
  the main reason to publish RSA keys in a JWKS, is stateless: it cannot see a revocation before the
  token expires, so Stratus cannot use it for these routes anyway.
- HMAC needs no ``cryptography``: PyJWT verifies HS256 with the standard library. ``cryptography``
  would take the gateway's Lambda zip from ~4.6 MB to ~9 MB (the target is < 5 MB) and add ~25 ms
  to the authorizer's cold start.
- The cost: whoever can verify can sign. Only two functions hold the secret (the idp and the
  gateway), it comes from Secrets Manager, and rotation is supported (``TOKEN_SIGNING_SECRET_PREVIOUS``
  and the ``kid`` header). ``/auth/.well-known/jwks.json`` exists and is empty: a symmetric key is
  never published. Switching to RS256 later means: a private key here, its public half in the JWKS,
  and ``cryptography`` in the gateway.

Claims: ``iss``, ``aud``, ``sub`` (user id, or the client id), ``sid`` (the session), ``jti``, ``iat``,
``nbf``, ``exp``, ``kind`` (``user``/``client``), ``scope``, and ``preferred_username`` or ``client_id``.
Header: ``alg`` HS256, ``typ`` ``at+jwt``, ``kid``. The secret's sources and the verification rules are
the gateway's (``services/gateway/gateway/tokens.py``); the two are tested against each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from idp.errors import ConfigurationError

__all__ = [
    "ALGORITHM",
    "LEEWAY_SECONDS",
    "MIN_SECRET_LENGTH",
    "TOKEN_TYPE",
    "InvalidToken",
    "SigningKeys",
    "audience",
    "check_configuration",
    "get_keys",
    "in_local_cloud",
    "issue_access_token",
    "issuer",
    "key_id",
    "load_keys",
    "reset_keys",
    "verify_access_token",
]

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a header value, not a secret
LEEWAY_SECONDS = 5
MIN_SECRET_LENGTH = 32
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp")
SECRET_ENV = "TOKEN_SIGNING_SECRET"  # noqa: S105 - a variable name
PREVIOUS_SECRET_ENV = "TOKEN_SIGNING_SECRET_PREVIOUS"  # noqa: S105 - a variable name
SECRET_ID_ENV = "TOKEN_SIGNING_SECRET_ID"  # noqa: S105 - a variable name
LOCAL_ENVIRONMENTS = frozenset({"local", "dev"})
_EXAMPLE_SECRETS = frozenset({"your-very-secure-secret-at-least-32-characters-long"})


class InvalidToken(Exception):
    """The token is not acceptable; the message says why and never contains the token."""


@dataclass(frozen=True)
class SigningKeys:
    """The current signing secret and any previous ones still accepted, by key id."""

    current_kid: str
    keys: Mapping[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_kid]

    def __repr__(self) -> str:
        return f"SigningKeys(current_kid={self.current_kid!r}, kids={sorted(self.keys)!r})"


def _environment(environ: Mapping[str, str]) -> str:
    return (environ.get("STRATUS_ENV") or environ.get("ENVIRONMENT") or "local").strip() or "local"


def _project(environ: Mapping[str, str]) -> str:
    return (environ.get("STRATUS_PROJECT") or "stratus").strip() or "stratus"


def issuer(environ: Mapping[str, str] | None = None) -> str:
    """``TOKEN_ISSUER``, else ``urn:stratus:<project>:<env>:idp``."""
    environ = os.environ if environ is None else environ
    return environ.get("TOKEN_ISSUER", "").strip() or f"urn:stratus:{_project(environ)}:{_environment(environ)}:idp"


def audience(environ: Mapping[str, str] | None = None) -> str:
    """``TOKEN_AUDIENCE``, else ``urn:stratus:<project>:<env>:api``."""
    environ = os.environ if environ is None else environ
    return environ.get("TOKEN_AUDIENCE", "").strip() or f"urn:stratus:{_project(environ)}:{_environment(environ)}:api"


def in_local_cloud(environ: Mapping[str, str] | None = None) -> bool:
    """True only in the local cloud: environment ``local``/``dev`` AND a loopback ``AWS_ENDPOINT_URL``."""
    environ = os.environ if environ is None else environ
    if _environment(environ) not in LOCAL_ENVIRONMENTS:
        return False
    host = urlsplit(environ.get("AWS_ENDPOINT_URL", "").strip()).hostname or ""
    if host == "localhost":
        return True
    try:
        return bool(host) and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_id(secret: bytes) -> str:
    """The ``kid`` of a secret (the gateway computes the same)."""
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
    from stratus_common.aws import client

    return client("secretsmanager")


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
    """The generated secret's name in the local cloud's Secrets Manager (the gateway uses the same)."""
    environ = os.environ if environ is None else environ
    return f"{_project(environ)}-{_environment(environ)}-token-signing-secret"


def _local_generated(environ: Mapping[str, str]) -> SigningKeys:
    sm = _secretsmanager()
    name = local_secret_name(environ)
    try:
        value = sm.get_secret_value(SecretId=name)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        with contextlib.suppress(sm.exceptions.ResourceExistsException):
            sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
        value = sm.get_secret_value(SecretId=name)["SecretString"]
    return _keys(value, None, f"the local cloud's secret {name}")


def check_configuration(environ: Mapping[str, str] | None = None) -> None:
    """Start-up check, no network: a set ``TOKEN_SIGNING_SECRET`` must be valid; some source must exist."""
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
    """Read the keys: ``TOKEN_SIGNING_SECRET``, else ``TOKEN_SIGNING_SECRET_ID``, else (local cloud) generated."""
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
    """The process's keys, loaded once."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = load_keys()
        return _cached


def reset_keys() -> None:
    """Forget the loaded keys (tests)."""
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


def verify_access_token(token: str, *, keys: SigningKeys | None = None) -> dict[str, Any]:
    """Return the claims of a valid access token (signature, ``typ``, ``kid``, every claim, times, issuer,
    audience); raise :class:`InvalidToken`. Session revocation is checked by the caller."""
    keys = keys or get_keys()
    if not token or len(token) > 8192:
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
            issuer=issuer(),
            audience=audience(),
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
