"""Token attacks on a token-protected route (`/players`, auth "token"), through `stratus dev` as a client would
attack the deployed API: every way to present a bearer token that is not an access token of an active session must
be refused by the HTTP API (401: no identity source, the authorizer is not called; 403: the authorizer denied),
never reach the service (2xx) and never break the authorizer (5xx).

Forged tokens that are *correctly signed* need the stack's signing key: the local cloud keeps each declared secret
under the stack root's `.stratus/secrets/` and loads it into the local Secrets Manager, where the gateway's
authorizer reads it. The positive controls prove that key is the one in use (a token forged with it for an active
session is accepted), so each refusal below is the verifier's doing, not a wrong key in the test.

Requests come from source addresses of their own (127.0.0.81 to sign in, 127.0.0.82 to attack), so the idp's
per-IP sign-in limit and the other suites' limits never meet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from stratus_common import tokens

from tests.e2e.devstack import DevStack
from tests.security.attack import FORBIDDEN, REFUSED, UNAUTHORIZED, api_key, client_from

pytestmark = pytest.mark.e2e

SIGN_IN_FROM = "127.0.0.81"
ATTACK_FROM = "127.0.0.82"
PASSWORD = "correct horse battery staple 42"
ATTACKER_SECRET = b"attacker-chosen-secret-0123456789abcdefghijklmnopqrstuvwxyz012345"
DROP: Any = object()  # a claim or header field to leave out
STACK_KEY: Any = object()  # sign with the stack's own key


@dataclass(frozen=True)
class Identities:
    secret: bytes  # the stack's token-signing key
    claims: dict[str, Any]  # the claims of an access token the idp issued for session "active" (a template)
    access: str  # that token
    refresh: str  # that session's refresh token
    revoked: str  # an access token of another session of the same account, logged out since
    revoked_sid: str
    other_sub: str  # a second account, signed in: its subject and session
    other_sid: str
    api_key: str  # the stack's API key (tests/conftest.py)

    @property
    def kid(self) -> str:
        return tokens.key_id(self.secret)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def sign(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None, digest: str = "sha256") -> str:
    """A JWS built by hand (no library second-guesses the header): HMAC with ``digest``, or unsigned."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    if secret is None:
        return signing_input + "."
    return signing_input + "." + _b64(hmac.new(secret, signing_input.encode(), getattr(hashlib, digest)).digest())


def forge(
    ids: Identities,
    *,
    secret: bytes | None = STACK_KEY,
    digest: str = "sha256",
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A fresh token for the active session (new jti, valid now), signed with the stack's key unless ``secret``
    says another (``None``: unsigned); ``claims`` and ``header`` override (``DROP`` removes a field)."""
    now = int(time.time())
    body: dict[str, Any] = {**ids.claims, "jti": uuid.uuid4().hex, "iat": now, "nbf": now, "exp": now + 600}
    head: dict[str, Any] = {"alg": tokens.ALGORITHM, "typ": tokens.TOKEN_TYPE, "kid": ids.kid}
    for target, changes in ((body, claims), (head, header or {})):
        for name, value in changes.items():
            if value is DROP:
                target.pop(name, None)
            else:
                target[name] = value
    return sign(head, body, ids.secret if secret is STACK_KEY else secret, digest)


def _sign_in(client: httpx.Client, username: str) -> dict[str, Any]:
    form = {"grant_type": "password", "username": username, "password": PASSWORD}
    signed_in = client.post("/auth/token", data=form)
    assert signed_in.status_code == 200, signed_in.text
    return dict(signed_in.json())


def _account(client: httpx.Client) -> str:
    username = f"tok-{uuid.uuid4().hex[:12]}"
    registered = client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    return username


@pytest.fixture(scope="module")
def ids(repo_stack: DevStack) -> Identities:
    # the key the local cloud generated for [secrets.token-signing] and loaded into its Secrets Manager
    secret = (repo_stack.state_dir / "secrets" / tokens.SECRET_NAME).read_bytes().strip()
    with client_from(repo_stack, SIGN_IN_FROM) as client:
        first, second = _account(client), _account(client)
        active = _sign_in(client, first)
        ended = _sign_in(client, first)  # a second session of the same account, which logs out
        logout = client.delete("/sessions/current", headers={"authorization": f"Bearer {ended['access_token']}"})
        assert logout.status_code == 204, logout.text
        other = _sign_in(client, second)
    claims = jwt.decode(active["access_token"], options={"verify_signature": False})
    other_claims = jwt.decode(other["access_token"], options={"verify_signature": False})
    revoked_claims = jwt.decode(ended["access_token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(active["access_token"])["kid"] == tokens.key_id(secret), "not the stack's key"
    return Identities(
        secret=secret,
        claims=claims,
        access=active["access_token"],
        refresh=active["refresh_token"],
        revoked=ended["access_token"],
        revoked_sid=revoked_claims["sid"],
        other_sub=other_claims["sub"],
        other_sid=other_claims["sid"],
        api_key=api_key(repo_stack),
    )


Headers = list[tuple[str, str]]


def bearer(token: str) -> Headers:
    return [("authorization", f"Bearer {token}")]


def _oversize(ids: Identities) -> str:
    # past what the verifier reads, yet under the HTTP API's 10,240-byte header quota (else the API answers 431)
    token = forge(ids, padding="x" * (tokens.MAX_TOKEN_LENGTH * 3 // 4))
    assert tokens.MAX_TOKEN_LENGTH < len(token) < 10_000
    return token


def _tampered(ids: Identities) -> str:
    header, _, signature = ids.access.split(".")
    return f"{header}.{_segment({**ids.claims, 'sub': ids.other_sub})}.{signature}"


# Each attack: the request headers to GET /players with. None of them is an access token of an active session, so
# each must be refused.
ATTACKS: dict[str, Callable[[Identities], Headers]] = {
    # --- the header itself
    # no credentials at all: the route's identity source is missing
    "no-authorization": lambda ids: [],
    # an empty header is no identity source either
    "empty-authorization": lambda ids: [("authorization", "")],
    # the scheme without a token
    "scheme-only": lambda ids: [("authorization", "Bearer")],
    # HTTP Basic credentials are not a token, even on a route that reads Authorization
    "basic-scheme": lambda ids: [("authorization", "Basic " + _b64(b"admin:admin"))],
    # a valid token under another scheme: only "Bearer" carries access tokens (RFC 6750)
    "token-scheme-valid-token": lambda ids: [("authorization", f"Token {ids.access}")],
    # a valid token without any scheme
    "no-scheme-valid-token": lambda ids: [("authorization", ids.access)],
    # not a JWT at all
    "not-a-jwt": lambda ids: bearer("not-a-jwt"),
    # three segments of garbage
    "garbage-segments": lambda ids: bearer("aaaa.bbbb.cccc"),
    # the session's refresh token is an opaque idp secret, never an access token
    "refresh-token-as-access-token": lambda ids: bearer(ids.refresh),
    # an API key is not a token, on a token route, in whichever header
    "api-key-as-bearer": lambda ids: bearer(ids.api_key),
    # --- the JOSE header
    # "alg": "none", unsigned: the classic bypass of verifiers that trust the header
    "alg-none": lambda ids: bearer(forge(ids, secret=None, header={"alg": "none"})),
    # "alg": "none" with a real signature still attached
    "alg-none-signed": lambda ids: bearer(forge(ids, header={"alg": "none"})),
    # HS512 (or HS384) with the right key: only HS256 is accepted, whatever the key
    "alg-hs512-right-key": lambda ids: bearer(forge(ids, digest="sha512", header={"alg": "HS512"})),
    "alg-hs384-right-key": lambda ids: bearer(forge(ids, digest="sha384", header={"alg": "HS384"})),
    # RS256 named in the header, HMAC-signed with the shared key: algorithm confusion
    "alg-rs256-hmac-signed": lambda ids: bearer(forge(ids, header={"alg": "RS256"})),
    # "typ" missing or "JWT": another kind of JWT signed with the key (an ID token, say) is not an access token
    "typ-missing": lambda ids: bearer(forge(ids, header={"typ": DROP})),
    "typ-jwt": lambda ids: bearer(forge(ids, header={"typ": "JWT"})),
    # no "kid": the verifier does not guess the key
    "kid-missing": lambda ids: bearer(forge(ids, header={"kid": DROP})),
    # a "kid" of the right form that names no key of the stack (also makes the verifier re-read the secret once)
    "kid-unknown": lambda ids: bearer(forge(ids, header={"kid": "0123456789abcdef"})),
    # a "kid" that tries to name a file
    "kid-path-traversal": lambda ids: bearer(forge(ids, header={"kid": "../../.stratus/secrets/token-signing"})),
    # the attacker's own key, embedded in the header as a JWK and named by "kid"
    "embedded-jwk-attacker-key": lambda ids: bearer(
        forge(
            ids,
            secret=ATTACKER_SECRET,
            header={"kid": tokens.key_id(ATTACKER_SECRET), "jwk": {"kty": "oct", "k": _b64(ATTACKER_SECRET)}},
        )
    ),
    # --- the signature
    # signed with another key under the stack's kid
    "signed-with-another-key": lambda ids: bearer(forge(ids, secret=ATTACKER_SECRET)),
    # the payload changed (another subject), the idp's original signature kept
    "tampered-payload": lambda ids: bearer(_tampered(ids)),
    # the signature removed, its dot kept
    "signature-stripped": lambda ids: bearer(ids.access.rsplit(".", 1)[0] + "."),
    # header and payload only
    "two-segments": lambda ids: bearer(ids.access.rsplit(".", 1)[0]),
    # a character appended to the signature
    "trailing-garbage": lambda ids: bearer(ids.access + "x"),
    # a fourth segment appended
    "extra-segment": lambda ids: bearer(ids.access + ".e30"),
    # text after the token in the header
    "text-after-token": lambda ids: [("authorization", f"Bearer {ids.access} admin")],
    # a correctly signed token longer than the verifier reads (MAX_TOKEN_LENGTH)
    "oversize": lambda ids: bearer(_oversize(ids)),
    # --- the claims (all correctly signed with the stack's key)
    # expired a minute ago (beyond the 5 s leeway)
    "expired": lambda ids: bearer(forge(ids, exp=int(time.time()) - 60)),
    # not valid before two minutes from now
    "nbf-in-the-future": lambda ids: bearer(forge(ids, nbf=int(time.time()) + 120)),
    # issued two minutes from now
    "iat-in-the-future": lambda ids: bearer(forge(ids, iat=int(time.time()) + 120)),
    # the prod idp's issuer, and an unrelated one
    "issuer-of-another-environment": lambda ids: bearer(forge(ids, iss=ids.claims["iss"].replace(":dev:", ":prod:"))),
    "wrong-issuer": lambda ids: bearer(forge(ids, iss="https://evil.example/")),
    # a token for another API
    "wrong-audience": lambda ids: bearer(forge(ids, aud="urn:stratus:other:dev:api")),
    # empty subject, or a session id that is not a string
    "empty-sub": lambda ids: bearer(forge(ids, sub="")),
    "sid-not-a-string": lambda ids: bearer(forge(ids, sid=12345)),
    # --- the session
    # the idp's own token of a session that has logged out (DELETE /sessions/current)
    "revoked-session": lambda ids: bearer(ids.revoked),
    # a fresh, correctly signed token for that revoked session: revocation is by session, not by token
    "revoked-session-fresh-token": lambda ids: bearer(forge(ids, sid=ids.revoked_sid)),
    # a session that never existed
    "unknown-session": lambda ids: bearer(forge(ids, sid=uuid.uuid4().hex)),
    # the active session of another account, with this account as subject
    "sid-of-another-subject": lambda ids: bearer(forge(ids, sid=ids.other_sid)),
    # this account's active session, with the other account as subject
    "sub-of-another-account": lambda ids: bearer(forge(ids, sub=ids.other_sub)),
    # --- duplicates: the HTTP API joins repeated headers with ",", which is no token
    "duplicated-valid-tokens": lambda ids: bearer(ids.access) * 2,
    "valid-then-garbage": lambda ids: [*bearer(ids.access), ("authorization", "Bearer x")],
    "garbage-then-valid": lambda ids: [("authorization", "Bearer x"), *bearer(ids.access)],
    # --- credentials of the other mode: a token route reads Authorization only
    "api-key-header": lambda ids: [("x-api-key", ids.api_key)],
}


def _expect_refused(response: httpx.Response) -> None:
    assert response.status_code in REFUSED, (response.status_code, response.text)
    # the HTTP API's own answer: the request never reached the service
    assert response.json() == (UNAUTHORIZED if response.status_code == 401 else FORBIDDEN), response.text


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_token_attack_is_refused(repo_stack: DevStack, ids: Identities, attack: str) -> None:
    headers = ATTACKS[attack](ids)
    with client_from(repo_stack, ATTACK_FROM) as attacker:
        response = attacker.get("/players", headers=headers)
    _expect_refused(response)


@pytest.mark.parametrize("claim", tokens.REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_refused(repo_stack: DevStack, ids: Identities, claim: str) -> None:
    # GIVEN a correctly signed token of the active session, without one of the claims the verifier requires
    token = forge(ids, **{claim: DROP})
    with client_from(repo_stack, ATTACK_FROM) as attacker:
        response = attacker.get("/players", headers=bearer(token))
    # THEN the authorizer denies it (none of them has a default)
    _expect_refused(response)


def test_a_valid_token_is_not_an_api_key(repo_stack: DevStack, ids: Identities) -> None:
    with client_from(repo_stack, ATTACK_FROM) as attacker:
        # a token on an API-key route: the route's identity source (x-api-key) is missing
        assert attacker.get("/worker/health", headers=bearer(ids.access)).status_code == 401
        # the token sent as the key: no such key
        as_key = attacker.get("/worker/health", headers={"x-api-key": ids.access})
    assert (as_key.status_code, as_key.json()) == (403, FORBIDDEN)


def test_an_active_sessions_token_is_accepted(repo_stack: DevStack, ids: Identities) -> None:
    """The positive control: without it, a broken stack (or a wrong key in this test) would refuse everything and
    every attack above would pass for the wrong reason."""
    with client_from(repo_stack, ATTACK_FROM) as caller:
        # the idp's own token
        issued = caller.get("/players", headers=bearer(ids.access))
        assert issued.status_code == 200, issued.text
        # a token forged by this module's signer with the stack's key: the key and the signer are right
        forged = caller.get("/players", headers=bearer(forge(ids)))
        assert forged.status_code == 200, forged.text
        # the scheme is case-insensitive (RFC 6750), so "bearer" is the same credential, not an attack
        lower = caller.get("/players", headers={"authorization": f"bearer {ids.access}"})
        assert lower.status_code == 200, lower.text
