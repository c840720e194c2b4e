"""The users API: ``api.main.handler`` (Lambda, routed at ``/users``) or ``api.main:app`` (ASGI).

- ``POST /``: create a user (201, Location, ETag); 409 ``user_exists`` / ``email_taken``;
- ``GET /{user_id}``: the user (ETag); 404;
- ``GET /?email=``: the users with this address (the ``by-email`` index); ``GET /``: a page of users
  (``?limit=`` 1–100, ``?cursor=``);
- ``PUT /{user_id}``: replace name and e-mail, given the ``version`` read; 409 ``version_conflict`` /
  ``email_taken``;
- ``DELETE /{user_id}?version=N``: 204; 404; 409 ``version_conflict``;
- ``/health``, ``/liveness``, ``/readiness`` (ready when both tables answer).

Storage is :mod:`api.store`; what is accepted and returned, :mod:`api.models`. AWS clients are created on first
use, not at import: importing this module is the Lambda cold start (so botocore is not imported here either).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from stratus_common.app import add_readiness_check, create_app
from stratus_common.aws_errors import unavailable_on_aws_error
from stratus_common.cursors import CursorCodec, InvalidCursor
from stratus_common.errors import Conflict, NotFound, error_responses
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.secrets import get_secret
from stratus_common.settings import table_name

from api.models import (
    MAX_VERSION,
    USER_ID_PATTERN,
    Email,
    User,
    UserCreate,
    UserList,
    UserUpdate,
    is_user_id,
)
from api.store import (
    EmailTaken,
    StoredUser,
    UserExists,
    UserNotFound,
    UserStore,
    VersionConflict,
)

__all__ = ["app", "get_user_store", "handler", "list_cursors"]

CURSOR_KEY = ("user_id",)
"""The attributes of a users-table key: what a list cursor must carry."""

logger = get_logger("api")
app = create_app(
    "Users API",
    service="api",
    description="A directory of users: create, read, update, delete, list and look up by e-mail.",
    http_api_errors=(401, 403),  # the authorizer's answers (API Gateway's shape)
)

list_cursors = CursorCodec("users", lambda: get_secret("cursor-signing"))
"""The cursors of ``GET /``; the key is read from Secrets Manager on first use, not at import."""


def get_user_store() -> UserStore:
    """The users and user-emails tables, with the process's DynamoDB client."""
    from stratus_common.aws import client  # botocore: on the first request, not at import

    return UserStore(client("dynamodb"), table_name("users"), table_name("user-emails"))


Store = Annotated[UserStore, Depends(get_user_store)]
UserId = Annotated[
    str,
    Path(
        description="The user's id (an id no user can have is a 404)",
        examples=["user-123"],
        json_schema_extra={"pattern": USER_ID_PATTERN},
    ),
]


def _public(user: StoredUser) -> User:
    return User(
        user_id=user.user_id,
        name=user.name,
        email=user.email,
        version=user.version,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def _etag(user: StoredUser) -> str:
    return f'"{user.version}"'


def _not_found(user_id: str) -> NotFound:
    return NotFound("No such user", {"user_id": user_id} if is_user_id(user_id) else None)


def _version_conflict(exc: VersionConflict) -> Conflict:
    return Conflict(
        "The user changed since that version: read it again",
        {"current_version": exc.current},
        code="version_conflict",
    )


def _email_taken() -> Conflict:
    return Conflict("Another user has this e-mail address", code="email_taken")


_ERRORS = error_responses(400, 422, 503, descriptions={400: "The body is not JSON"})
_NOT_FOUND = error_responses(404, descriptions={404: "No such user"})
_CONFLICT = error_responses(409, descriptions={409: "user_exists, email_taken or version_conflict"})


@app.post(
    "/",
    status_code=201,
    response_model=User,
    tags=["users"],
    responses={**_ERRORS, **_CONFLICT},
)
def create_user(body: UserCreate, request: Request, response: Response, store: Store) -> User:
    """Create a user; its e-mail address must not belong to another user."""
    try:
        with unavailable_on_aws_error("store the user"):
            user = store.create(body.name, body.email, user_id=body.user_id)
    except UserExists:
        raise Conflict("A user with this id already exists", code="user_exists") from None
    except EmailTaken:
        raise _email_taken() from None
    logger.info("User created", extra={"user_id": user.user_id})
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/{user.user_id}"
    response.headers["ETag"] = _etag(user)
    return _public(user)


@app.get("/", response_model=UserList, tags=["users"], responses=_ERRORS)
def list_users(
    store: Store,
    email: Annotated[Email | None, Query(description="Only the users with this address")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many users")] = 20,
    cursor: Annotated[str | None, Query(max_length=4096, description="next_cursor of the previous page")] = None,
) -> UserList:
    """List the users a page at a time, in no particular order; or find the users with an e-mail address.

    ``?email=`` reads the ``by-email`` index, which is eventually consistent: a user created a moment ago
    may not be found yet. ``limit`` and ``cursor`` do not apply to it.
    """
    if email is not None:
        if cursor:
            raise InvalidCursor("a cursor does not apply to an e-mail lookup")
        with unavailable_on_aws_error("look up the e-mail address"):
            users = store.find_by_email(email)
        return UserList(items=[_public(user) for user in users], next_cursor=None)
    with unavailable_on_aws_error("list the users"):
        start_key = list_cursors.decode(cursor, attributes=CURSOR_KEY)
        if start_key is not None and not _is_string_value(start_key["user_id"]):
            raise InvalidCursor("not a cursor this list returned")
        page = store.scan(limit, start_key)
        next_cursor = list_cursors.encode(page.last_key)
    return UserList(items=[_public(user) for user in page.users], next_cursor=next_cursor)


def _is_string_value(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)


@app.get("/{user_id}", response_model=User, tags=["users"], responses={**_ERRORS, **_NOT_FOUND})
def get_user(user_id: UserId, response: Response, store: Store) -> User:
    """Return the user."""
    if not is_user_id(user_id):
        raise _not_found(user_id)
    with unavailable_on_aws_error("read the user"):
        user = store.get(user_id)
    if user is None:
        raise _not_found(user_id)
    response.headers["ETag"] = _etag(user)
    return _public(user)


@app.put("/{user_id}", response_model=User, tags=["users"], responses={**_ERRORS, **_NOT_FOUND, **_CONFLICT})
def update_user(user_id: UserId, body: UserUpdate, response: Response, store: Store) -> User:
    """Replace the user's name and e-mail address, if it is still at ``version``."""
    if not is_user_id(user_id):
        raise _not_found(user_id)
    try:
        with unavailable_on_aws_error("update the user"):
            user = store.update(user_id, body.name, body.email, version=body.version)
    except UserNotFound:
        raise _not_found(user_id) from None
    except VersionConflict as exc:
        raise _version_conflict(exc) from None
    except EmailTaken:
        raise _email_taken() from None
    logger.info("User updated", extra={"user_id": user_id, "version": user.version})
    response.headers["ETag"] = _etag(user)
    return _public(user)


@app.delete(
    "/{user_id}",
    status_code=204,
    response_class=Response,
    tags=["users"],
    responses={**_ERRORS, **_NOT_FOUND, **_CONFLICT},
)
def delete_user(
    user_id: UserId,
    store: Store,
    version: Annotated[int, Query(ge=1, le=MAX_VERSION, description="The version read", examples=[1])],
) -> Response:
    """Delete the user, if it is still at ``version``; its e-mail address becomes free."""
    if not is_user_id(user_id):
        raise _not_found(user_id)
    try:
        with unavailable_on_aws_error("delete the user"):
            store.delete(user_id, version=version)
    except UserNotFound:
        raise _not_found(user_id) from None
    except VersionConflict as exc:
        raise _version_conflict(exc) from None
    logger.info("User deleted", extra={"user_id": user_id})
    return Response(status_code=204)


add_readiness_check(app, "users_tables", lambda: get_user_store().ping())

handler = make_handler(app)
"""The Lambda handler (API Gateway HTTP API, payload format 2.0) under ``STRATUS_BASE_PATH``."""
