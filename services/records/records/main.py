"""The records service's HTTP API: ``records.main.handler`` (Lambda, routed at ``/records``) or ``records.main:app``.

- ``POST /``: store a finished game of the signed-in player: 201 with the record and a ``Location``;
- ``GET /{record_id}``: one record;
- ``GET /leaderboard?difficulty=&period=&limit=``: each player's best record of the period, best first; public
  (stratus.toml's ``routes`` make it ``auth = "none"``, rate-limited per source IP by the authorizer);
- ``GET /players/{player_id}?limit=&cursor=``: a player's records, newest first, a page at a time;
- ``/``, ``/health`` (with ``"database": "reachable" | "unreachable: <reason>"``), ``/liveness``, ``/readiness``.

Every error is ``{"error": {"code", "message", "details"}}``: 422 ``validation_error`` naming the fields at fault
(``body.wpm``, ``query.difficulty``, ``body.player_id`` for a player without a profile...), 401/403 for the caller,
503 with ``Retry-After`` when the database, DynamoDB or the cursor-signing secret cannot be read (within a few
seconds: see :mod:`records.db`).

:func:`handler` also takes direct invocations (``{"action": "health"}``: :mod:`records.direct`).

Importing this module is the Lambda cold start, so it imports neither SQLAlchemy, psycopg nor boto3: the modules that
do (:mod:`records.store`, :mod:`records.leaderboard`, :mod:`records.outbox`, :mod:`records.lookups`) are imported by
the first request that needs them.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from stratus_common.app import add_readiness_check, create_app
from stratus_common.aws_errors import unavailable_on_aws_error
from stratus_common.errors import ApiError, Forbidden, NotFound, error_body, error_responses
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.principal import Principal, current_principal, current_user
from stratus_common.settings import get_settings

from records import cursor, db
from records.direct import database_status, dispatch, is_direct
from records.schemas import (
    DEFAULT_HISTORY_LIMIT,
    DEFAULT_LEADERBOARD_LIMIT,
    ID_PATTERN,
    MAX_LIMIT,
    Difficulty,
    LeaderboardEntry,
    Period,
    Record,
    RecordCreate,
    RecordPage,
    quantize,
)

__all__ = ["RETRY_AFTER_SECONDS", "app", "handler"]

RETRY_AFTER_SECONDS = 5
NO_PROFILE = "no player profile; create one with POST /players"
KNOWN_DIFFICULTIES = ("easy", "medium", "hard")

logger = get_logger("records")


def _health_details() -> dict[str, Any]:
    database = database_status()
    return {"database": database} if database == "reachable" else {"status": "unhealthy", "database": database}


app = create_app(
    "Records Service",
    service="records",
    description="Typing game records: store a finished game, leaderboards, a player's history.",
    health_details=_health_details,
    http_api_errors=(401, 403),  # the authorizer's answers (API Gateway's shape)
)
add_readiness_check(app, "database", db.ping)


class DependencyUnavailable(Exception):
    """DynamoDB (the players or texts table) could not answer."""


def _unavailable(code: str, what: str, reason: str) -> JSONResponse:
    message = f"The {what} is unavailable right now; retry in {RETRY_AFTER_SECONDS} seconds"
    logger.warning("%s unavailable: %s", what, reason)
    return JSONResponse(
        error_body(code, message, {"retry_after_seconds": RETRY_AFTER_SECONDS}),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@app.exception_handler(db.DatabaseUnavailable)
async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, db.DatabaseUnavailable)
    return _unavailable("database_unavailable", "records database", exc.reason)


@app.exception_handler(DependencyUnavailable)
async def _dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return _unavailable("lookup_unavailable", "players and texts lookup", str(exc))


_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "No signed-in caller",
    403: "The caller is not the player, or not a person",
    404: "No such record",
    422: "A field is missing or wrong; `details` names it",
    503: "The database or DynamoDB is unavailable; see Retry-After",
}
_POST_ERRORS = error_responses(400, 401, 403, 422, 503, descriptions=_DESCRIPTIONS)
_READ_ERRORS = error_responses(401, 422, 503, descriptions=_DESCRIPTIONS)


def _field_error(field: str, message: str, error_type: str) -> dict[str, str]:
    return {"field": field, "message": message, "type": error_type}


def _check_references(player_id: str, text_id: str) -> str:
    """The text's difficulty, once the player and the text are known; else a 422 naming what is not."""
    from stratus_common.aws import FAST_CONFIG, client
    from stratus_common.settings import table_name

    from records.lookups import LookupUnavailable, lookup

    try:
        found = lookup(
            client("dynamodb", config=FAST_CONFIG),
            players_table=table_name("players"),
            texts_table=table_name("texts"),
            player_id=player_id,
            text_id=text_id,
        )
    except LookupUnavailable as exc:
        raise DependencyUnavailable(exc.reason) from exc
    problems = []
    if not found.player_exists:
        problems.append(_field_error("body.player_id", NO_PROFILE, "unknown_player"))
    if not found.text_exists:
        problems.append(_field_error("body.text_id", "no such text", "unknown_text"))
    elif found.text_difficulty not in KNOWN_DIFFICULTIES:
        problems.append(_field_error("body.text_id", "the text has no known difficulty", "unknown_difficulty"))
    if problems or found.text_difficulty is None:
        raise ApiError(422, "validation_error", "Request validation failed", problems)
    return found.text_difficulty


@app.get("/", tags=["records"])
def index() -> dict[str, str]:
    """What this service is."""
    settings = get_settings()
    return {"service": "records", "environment": settings.environment, "version": settings.version}


@app.post("/", status_code=201, response_model=Record, responses=_POST_ERRORS, tags=["records"])
def create_record(
    body: RecordCreate,
    request: Request,
    response: Response,
    caller: Annotated[Principal, Depends(current_user)],
) -> Record:
    """Store a finished game of the signed-in player, and tell the players service (``record-events``).

    The caller must be the player (403 otherwise), with a profile (422 naming ``body.player_id`` otherwise); the
    text must exist (422 naming ``body.text_id``), and gives the record its difficulty.
    """
    if body.player_id != caller.subject:
        raise Forbidden(
            "A record can only be added by its own player",
            [_field_error("body.player_id", "must be the signed-in player's id", "not_the_caller")],
            code="not_the_player",
        )
    difficulty = _check_references(body.player_id, body.text_id)

    from records import outbox, store

    new = store.NewRecord(
        player_id=body.player_id,
        text_id=body.text_id,
        difficulty=difficulty,
        wpm=quantize(body.wpm, 2),
        accuracy=quantize(body.accuracy, 2),
        duration_seconds=quantize(body.duration_seconds, 3),
    )
    with db.transaction() as connection:
        stored = store.create_record(connection, new)
    outbox.deliver(outbox.Message(record_id=stored.record_id, body=stored.event()))
    logger.info("Record stored", extra={"record_id": str(stored.record_id), "player_id": stored.player_id})
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/{stored.record_id}"
    return Record.model_validate(stored.as_dict())


@app.get(
    "/leaderboard",
    response_model=list[LeaderboardEntry],
    responses=error_responses(422, 503, descriptions=_DESCRIPTIONS),
    tags=["records"],
)
def leaderboard(
    difficulty: Annotated[Difficulty, Query(description="easy, medium or hard")],
    period: Annotated[Period, Query(description="day: the last 24 h; week: the last 7 days; all")] = "all",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LEADERBOARD_LIMIT,
) -> list[LeaderboardEntry]:
    """Each player's best record of the difficulty in the period: by wpm, then accuracy, then the earlier."""
    from records.leaderboard import leaderboard as best_records

    with db.transaction() as connection:
        rows = best_records(connection, difficulty, period, limit)
    return [
        LeaderboardEntry(
            rank=rank,
            player_id=row.player_id,
            wpm=float(row.wpm),
            accuracy=float(row.accuracy),
            record_id=row.record_id,
            created_at=row.created_at,
        )
        for rank, row in enumerate(rows, start=1)
    ]


@app.get(
    "/players/{player_id}",
    response_model=RecordPage,
    responses=_READ_ERRORS,
    dependencies=[Depends(current_principal)],
    tags=["records"],
)
def player_records(
    player_id: Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_HISTORY_LIMIT,
    cursor_: Annotated[
        str | None,
        Query(alias="cursor", max_length=cursor.MAX_CURSOR_LENGTH, description="next_cursor of the previous page"),
    ] = None,
) -> RecordPage:
    """A player's records, newest first; ``next_cursor`` continues (null on the last page)."""
    from records import store

    with unavailable_on_aws_error("read the cursor-signing key", retry_after=RETRY_AFTER_SECONDS):
        after = cursor.decode(cursor_, player_id)
        with db.transaction() as connection:
            records, more = store.player_history(connection, player_id, limit, after)
        next_cursor = cursor.encode(player_id, (records[-1].created_at, records[-1].record_id)) if more else None
    return RecordPage(items=[Record.model_validate(r.as_dict()) for r in records], next_cursor=next_cursor)


@app.get(
    "/{record_id:uuid}",
    response_model=Record,
    responses=error_responses(401, 404, 422, 503, descriptions=_DESCRIPTIONS),
    dependencies=[Depends(current_principal)],
    tags=["records"],
)
def get_record(record_id: UUID) -> Record:
    """One record (the ``Location`` of ``POST /``)."""
    from records import store

    with db.transaction() as connection:
        stored = store.get_record(connection, record_id)
    if stored is None:
        raise NotFound(f"No record {record_id}")
    return Record.model_validate(stored.as_dict())


_http = make_handler(app)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: API Gateway HTTP API events (payload 2.0) to the app; direct invocations
    (``{"action": ...}``) to :func:`records.direct.dispatch`."""
    if is_direct(event):
        return dispatch(event, context)
    return _http(event, context)
