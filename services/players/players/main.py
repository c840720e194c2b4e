"""The players' HTTP API: ``players.main.handler`` (Lambda, routed at ``/players``) or ``players.main:app`` (ASGI).

Behind ``auth = "token"``: the gateway's authorizer lets the caller in and :mod:`stratus_common.principal` says who
it is. Reading needs any signed-in caller; writing needs a person (a machine client gets 403), and a profile can
only be changed by its owner: the account whose ``sub`` is its ``player_id``.

- ``POST /players``: the caller's profile (one per account): 201 with a Location and an ETag, 409 if it exists;
- ``GET /players?limit=&cursor=``: a page of profiles and the cursor of the next one;
- ``GET /players/{player_id}``: a profile, with its ETag (``"<version>"``);
- ``PUT /players/{player_id}``: replace one's own profile, sending the version last read; 409 ``version_conflict``
  when it changed since;
- ``DELETE /players/{player_id}?version=N``: delete one's own profile, on the same condition; 204;
- ``GET /players/{player_id}/stats``: the player's totals, counted by :mod:`players.stats` from the records;
- ``/health``, ``/liveness``, ``/readiness`` (ready when the players table answers).

Deleting a profile leaves its stats: they are a projection of the game records, which the records service keeps,
and they are not shown (404) until the account has a profile again.

AWS clients are created on first use, not at import: importing this module is the Lambda cold start.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from stratus_common.app import add_readiness_check, create_app
from stratus_common.aws_errors import unavailable_on_aws_error
from stratus_common.cursors import MAX_CURSOR_LENGTH, CursorCodec
from stratus_common.errors import Conflict, Forbidden, NotFound, error_responses
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.principal import Principal, current_principal, current_user
from stratus_common.secrets import get_secret
from stratus_common.settings import table_name

from players.models import (
    MAX_VERSION,
    PLAYER_ID_PATTERN,
    Player,
    PlayerCreate,
    PlayerPage,
    PlayerStats,
    PlayerUpdate,
    is_player_id,
)
from players.stats_store import StatsStore
from players.store import PlayerExists, PlayerNotFound, PlayerProfile, PlayerRecord, PlayerStore, VersionConflict

__all__ = ["app", "get_cursor_codec", "get_player_store", "get_stats_store", "handler"]

logger = get_logger("players")
app = create_app(
    "Players Service",
    service="players",
    description="Player profiles, one per signed-in account, and their stats from the game records.",
    http_api_errors=(401, 403),  # the authorizer's answers (API Gateway's shape)
)

PlayerId = Annotated[
    str,
    Path(min_length=1, max_length=128, pattern=PLAYER_ID_PATTERN, description="The account's sub"),
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(401, 422, 503, *statuses)


def get_player_store() -> PlayerStore:
    """The players table (``PLAYERS_TABLE_NAME``), with the process's DynamoDB client."""
    from stratus_common.aws import client  # botocore is imported on the first request, not at the cold start

    return PlayerStore(client("dynamodb"), table_name("players"))


def get_stats_store() -> StatsStore:
    """The player-stats table (``PLAYER_STATS_TABLE_NAME``), with the process's DynamoDB client."""
    from stratus_common.aws import client

    return StatsStore(client("dynamodb"), table_name("player-stats"))


def get_cursor_codec() -> CursorCodec:
    """The cursors of ``GET /players``, signed with the ``cursor-signing`` secret (read on first use)."""
    return CursorCodec("players", lambda: get_secret("cursor-signing"))


Players = Annotated[PlayerStore, Depends(get_player_store)]
# Each route takes its caller first: a request without one is refused before any client is made.


def _etag(record: PlayerRecord) -> str:
    return f'"{record.version}"'


def _profile(body: PlayerCreate) -> PlayerProfile:
    return PlayerProfile(
        display_name=body.display_name, country=body.country, preferred_difficulty=body.preferred_difficulty
    )


def _owned(store: PlayerStore, player_id: str, principal: Principal) -> None:
    """Refuse to change another account's profile: 404 if there is none, 403 otherwise."""
    if player_id == principal.subject:
        return
    with unavailable_on_aws_error("read the player"):
        exists = store.get(player_id) is not None
    if not exists:
        raise NotFound(f"No player {player_id!r}")
    raise Forbidden("Only the player can change their profile", code="not_owner")


def _version_conflict(exc: VersionConflict) -> Conflict:
    return Conflict(
        f"The profile is at version {exc.current}, not {exc.expected}: read it again and retry",
        details={"current_version": exc.current, "sent_version": exc.expected},
        code="version_conflict",
    )


@app.post("/", status_code=201, response_model=Player, tags=["players"], responses=_errors(400, 403, 409))
def create_player(
    principal: Annotated[Principal, Depends(current_user)],
    body: PlayerCreate,
    request: Request,
    response: Response,
    store: Players,
) -> dict[str, Any]:
    """Create the signed-in account's profile; its ``player_id`` is the account's ``sub``."""
    player_id = principal.subject
    if not is_player_id(player_id):
        raise Forbidden("This account's id cannot be a player id", code="unsupported_subject")
    try:
        with unavailable_on_aws_error("store the player"):
            record = store.create(player_id, _profile(body))
    except PlayerExists as exc:
        raise Conflict("This account has a player profile already", code="player_exists") from exc
    logger.info("Player created", extra={"player_id": player_id})
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/{player_id}"
    response.headers["ETag"] = _etag(record)
    return record.public()


@app.get("/", response_model=PlayerPage, tags=["players"], responses=_errors())
def list_players(
    _: Annotated[Principal, Depends(current_principal)],
    store: Players,
    codec: Annotated[CursorCodec, Depends(get_cursor_codec)],
    limit: Annotated[int, Query(ge=1, le=100, description="Players per page")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    """List players, a page at a time (in no particular order)."""
    with unavailable_on_aws_error("list the players"):
        start = codec.decode(cursor, attributes=["player_id"])
        records, last_key = store.page(limit=limit, start=start)
        next_cursor = codec.encode(last_key)
    return {"items": [record.public() for record in records], "next_cursor": next_cursor}


@app.get("/{player_id}", response_model=Player, tags=["players"], responses=_errors(404))
def get_player(
    _: Annotated[Principal, Depends(current_principal)],
    player_id: PlayerId,
    response: Response,
    store: Players,
) -> dict[str, Any]:
    """Return a player's profile, with its version as the ETag."""
    with unavailable_on_aws_error("read the player"):
        record = store.get(player_id)
    if record is None:
        raise NotFound(f"No player {player_id!r}")
    response.headers["ETag"] = _etag(record)
    return record.public()


@app.put("/{player_id}", response_model=Player, tags=["players"], responses=_errors(400, 403, 404, 409))
def update_player(
    principal: Annotated[Principal, Depends(current_user)],
    player_id: PlayerId,
    body: PlayerUpdate,
    response: Response,
    store: Players,
) -> dict[str, Any]:
    """Replace one's own profile, if it is still at the version sent (409 ``version_conflict`` otherwise)."""
    _owned(store, player_id, principal)
    try:
        with unavailable_on_aws_error("update the player"):
            record = store.update(player_id, _profile(body), expected_version=body.version)
    except PlayerNotFound as exc:
        raise NotFound(f"No player {player_id!r}") from exc
    except VersionConflict as exc:
        raise _version_conflict(exc) from exc
    logger.info("Player updated", extra={"player_id": player_id, "version": record.version})
    response.headers["ETag"] = _etag(record)
    return record.public()


@app.delete(
    "/{player_id}", status_code=204, response_class=Response, tags=["players"], responses=_errors(403, 404, 409)
)
def delete_player(
    principal: Annotated[Principal, Depends(current_user)],
    player_id: PlayerId,
    version: Annotated[int, Query(ge=1, le=MAX_VERSION, description="The version last read")],
    store: Players,
) -> Response:
    """Delete one's own profile, if it is still at *version*. Its stats stay (see the module's docstring)."""
    _owned(store, player_id, principal)
    try:
        with unavailable_on_aws_error("delete the player"):
            store.delete(player_id, expected_version=version)
    except PlayerNotFound as exc:
        raise NotFound(f"No player {player_id!r}") from exc
    except VersionConflict as exc:
        raise _version_conflict(exc) from exc
    logger.info("Player deleted", extra={"player_id": player_id, "version": version})
    return Response(status_code=204)


@app.get("/{player_id}/stats", response_model=PlayerStats, tags=["players"], responses=_errors(404))
def get_player_stats(
    _: Annotated[Principal, Depends(current_principal)],
    player_id: PlayerId,
    store: Players,
    stats: Annotated[StatsStore, Depends(get_stats_store)],
) -> dict[str, Any]:
    """Return a player's totals over their game records (zeros before the first game)."""
    with unavailable_on_aws_error("read the player"):
        exists = store.get(player_id) is not None
    if not exists:
        raise NotFound(f"No player {player_id!r}")
    with unavailable_on_aws_error("read the stats"):
        totals = stats.get(player_id)
    return totals.public(player_id)


add_readiness_check(app, "players_table", lambda: get_player_store().ping())

handler = make_handler(app)
"""The Lambda handler (API Gateway HTTP API, payload format 2.0), under ``STRATUS_BASE_PATH``."""
