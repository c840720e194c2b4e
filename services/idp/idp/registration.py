"""``POST /auth/register``: who may create an account (``IDP_REGISTRATION``), and in what order it is checked.

- ``closed``: 403 ``registration_closed``, nothing else is looked at.
- Every other request is counted per source IP first (``IDP_REGISTER_RATE_LIMIT_IP``, default 10 an hour; past it
  429 with ``Retry-After``), then its body is validated (415, 400, 422: username 3-32 characters of letters,
  digits, '.', '_', '-'; password :mod:`idp.passwords`).
- ``invite``: the body's ``invite`` (a code made by ``stratus invite create``) is checked BEFORE the username: a
  missing, unknown, used or expired one is 403 ``invalid_invite`` whatever the username, so no username is
  revealed to someone without an invite. Then one ``TransactWriteItems`` consumes the invite and creates the user;
  a taken username is 409 and leaves the invite usable.
- ``open``: no invite needed (one that is given is redeemed the same way, for its scopes); a taken username is 409.
  That tells whether a username exists, which an open sign-up cannot avoid: a self-chosen username cannot be
  registered blind (the person must learn it is taken to pick another). The per-IP limit bounds how fast anyone
  can enumerate that way.

A new user gets ``IDP_USER_SCOPES`` (default ``profile``) plus the invite's scopes. No argon2 work happens before
the rate limit and the invite check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool
from stratus_common.aws_errors import error_code, is_aws_error
from stratus_common.errors import ApiError, Conflict, Forbidden, ServiceUnavailable, TooManyRequests
from stratus_common.logging import get_logger

from idp import config, ratelimits, seed, stores
from idp.accounts import USERNAME_PATTERN, AccountExists, InvalidInvite, validate_username
from idp.passwords import MAX_PASSWORD, MIN_DISTINCT, MIN_PASSWORD, REPETITIVE_PATTERN, validate_password

__all__ = ["REGISTER_ROUTE", "RegisterRequest", "RegisteredUser", "register", "unavailable_on_aws_error"]

REGISTER_ROUTE = "/auth/register"
_INVALID_INVITE = "The invite is missing, unknown, used or expired"
logger = get_logger("idp")


class RegisterRequest(BaseModel):
    """The body of ``POST /auth/register``."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        min_length=3,
        max_length=32,
        pattern=USERNAME_PATTERN,
        description="3-32 letters, digits, '.', '_', '-', starting with a letter or digit; stored lower-case",
    )
    password: str = Field(
        min_length=MIN_PASSWORD,
        max_length=MAX_PASSWORD,
        description=f"{MIN_PASSWORD}-{MAX_PASSWORD} characters, at least {MIN_DISTINCT} different ones, not the "
        "username, not in the service's list of common and breached passwords (compared case-insensitively)",
        json_schema_extra={"not": {"pattern": REPETITIVE_PATTERN}},
    )
    invite: str | None = Field(
        default=None,
        max_length=64,
        description="An invite code (`stratus invite create`): required when registration is by invite",
    )

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return validate_username(value)


class RegisteredUser(BaseModel):
    """A new account."""

    sub: str = Field(description="The account's id: the `sub` of its tokens")
    username: str
    scopes: list[str]


def _validation_error(field: str, exc: Exception) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": f"Value error, {exc}", "type": "value_error"}])


async def _body(request: Request) -> RegisterRequest:
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    try:
        data = json.loads(await request.body())
    except ValueError as exc:
        where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, "invalid_json", f"Request body is not valid JSON{where}") from None
    try:
        body = RegisterRequest.model_validate(data)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_input=False)]
        raise RequestValidationError(errors) from None
    try:
        await run_in_threadpool(validate_password, body.password, body.username)
    except ValueError as exc:
        raise _validation_error("password", exc) from None
    return body


def _create(body: RegisterRequest, mode: str) -> dict[str, Any]:
    accounts = stores.get_accounts()
    seed.ensure_demo(stores.get_accounts)
    scopes = config.user_scopes()
    if body.invite is not None or mode == "invite":
        invite = accounts.find_invite(body.invite or "")
        if invite is None:
            logger.info("Registration refused", extra={"reason": "invalid_invite"})
            raise Forbidden(_INVALID_INVITE, code="invalid_invite")
        scopes = (*scopes, *invite.scopes)
    try:
        user = accounts.create_user(body.username, body.password, scopes=scopes, invite=body.invite)
    except InvalidInvite:
        logger.info("Registration refused", extra={"reason": "invalid_invite"})
        raise Forbidden(_INVALID_INVITE, code="invalid_invite") from None
    except AccountExists:
        raise Conflict("The username is taken", details=[{"field": "body.username", "message": "taken"}]) from None
    logger.info("Registered", extra={"subject": user.subject, "invited": body.invite is not None})
    return RegisteredUser(sub=user.subject, username=user.username, scopes=list(user.scopes)).model_dump()


@contextmanager
def unavailable_on_aws_error() -> Iterator[None]:
    """An AWS failure inside the block -> 503 ``service_unavailable`` with ``Retry-After``; logged without a trace
    (:func:`stratus_common.aws_errors.unavailable_on_aws_error` would log one)."""
    try:
        yield
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        logger.warning("AWS unavailable", extra={"error_code": error_code(exc) or type(exc).__name__})
        raise ServiceUnavailable("Try again later", headers={"Retry-After": "1"}) from None


async def register(request: Request, source_ip: str) -> dict[str, Any]:
    """Create a user account as the registration mode allows; see the module's docstring for the order."""
    mode = config.registration_mode()
    if mode == "closed":
        raise Forbidden("Registration is closed", code="registration_closed")
    try:
        await run_in_threadpool(ratelimits.check, REGISTER_ROUTE, (f"ip:{source_ip}", ratelimits.REGISTER_IP))
    except ratelimits.Limited as exc:
        raise TooManyRequests("Too many registrations; retry later", headers=exc.decision.headers()) from None
    except ratelimits.Unavailable as exc:
        raise ServiceUnavailable("Try again later", headers={"Retry-After": str(exc.retry_after)}) from None
    body = await _body(request)
    with unavailable_on_aws_error():
        return await run_in_threadpool(_create, body, mode)
