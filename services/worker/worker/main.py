"""The worker's HTTP API: ``worker.main.handler`` (Lambda, routed at ``/worker``) or ``worker.main:app`` (ASGI).

- ``POST /jobs`` stores a ``queued`` job and sends its id to the ``jobs`` queue: 202 with a Location;
- ``GET /jobs/{job_id}`` returns its status (and result, once it succeeded);
- ``/``, ``/health``, ``/liveness``, ``/readiness`` (ready when the jobs table answers).

Every route is behind the gateway's authorizer (``auth = "api_key"``): without a key the HTTP API answers 401, with a
key it refuses 403, both in API Gateway's shape ``{"message": ...}``, as the OpenAPI document says. A method a path
does not have is a 405 with ``Allow``.

The body of ``POST /jobs`` (:class:`JobRequest`) takes one of two shapes:

- ``{"type": "sum", "payload": {"numbers": [1, 2, 3]}}``: the job's type and its input, both required;
- ``{"task": "process_data"}``, or ``{"task": "process_data", "payload": {...}}``: ``task`` is an alias
  of ``type``, and ``payload`` defaults to ``{}``.

Giving both ``type`` and ``task`` is a 422 naming ``body.task``. So is a type no processor handles
(the types are :data:`worker.consumer.JOB_TYPES`: echo, fail, process_data, sum): the 422 names
``body.type`` (or ``body.task``) and lists the known types, rather than a 202 for a job that can only fail.

The SQS consumer that processes the jobs, and what each type does, is :mod:`worker.consumer`. AWS clients
(and botocore) are created on first use, not at import: importing this module is the Lambda cold start.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, Request, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from stratus_common.app import add_readiness_check, create_app
from stratus_common.aws_errors import unavailable_on_aws_error
from stratus_common.errors import Conflict, NotFound, ServiceUnavailable, error_responses
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.settings import get_settings, queue_url, table_name

from worker.consumer import JOB_TYPES
from worker.jobs import QUEUED, JobExists, JobQueue, JobStore

__all__ = [
    "JOB_TYPE_PATTERN",
    "MAX_PAYLOAD_BYTES",
    "JobAccepted",
    "JobRequest",
    "app",
    "get_job_queue",
    "get_job_store",
    "handler",
]

MAX_PAYLOAD_BYTES = 64 * 1024
"""The largest payload, as compact JSON: well inside DynamoDB's 400 KB item limit."""

logger = get_logger("worker")
app = create_app(
    "Worker Service",
    service="worker",
    description="Enqueues jobs on SQS and reports their status; the SQS consumer processes them.",
    http_api_errors=(401, 403),  # behind the authorizer (auth = "api_key"): no key, or a key it refuses
)


JOB_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
"""What a job type name looks like (and it is 1 to 64 characters); it must also be one of the known types."""


def _no_default(schema: dict[str, Any]) -> None:
    """Leave the default out of a field's JSON schema: whether the field is optional depends on the shape."""
    schema.pop("default", None)


def _name_schema(schema: dict[str, Any]) -> None:
    """A job type's JSON schema: a string, one of the known types."""
    _no_default(schema)
    schema["enum"] = list(JOB_TYPES)


def _error(error_type: str, message: str, loc: tuple[int | str, ...], data: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError(error_type, message), "loc": loc, "input": data}


class JobRequest(BaseModel):
    """The body of ``POST /jobs``: ``{"type": ..., "payload": {...}}``, or ``{"task": ...[, "payload": {...}]}``.

    ``task`` is an alias of ``type`` (the shape other tools post); with it, ``payload`` may be left out
    and is ``{}``. Exactly one of ``type`` and ``task`` is given, and it names a known job type
    (:data:`worker.consumer.JOB_TYPES`); use :attr:`job_type`, whichever the shape.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [  # exactly one of the two shapes
                {"title": "type and payload", "required": ["type", "payload"], "not": {"required": ["task"]}},
                {"title": "task alias", "required": ["task"], "not": {"required": ["type"]}},
            ],
            "examples": [
                {"type": "sum", "payload": {"numbers": [1, 2, 3]}},
                {"task": "process_data", "payload": {"key": "value"}},
                {"task": "echo"},
            ],
        },
    )

    # Absent fields default to "" and {} (defaults are not validated): which fields must be given depends on
    # the shape, and is checked by _one_shape; an explicit null is a type error, as it should be.
    type: str = Field(
        default="",
        min_length=1,
        max_length=64,
        pattern=JOB_TYPE_PATTERN,
        description=f"What to do: one of {', '.join(JOB_TYPES)}. Required unless `task` is given.",
        json_schema_extra=_name_schema,
    )
    task: str = Field(
        default="",
        min_length=1,
        max_length=64,
        pattern=JOB_TYPE_PATTERN,
        description="Alias of `type` (not both). With `task`, `payload` is optional and defaults to `{}`.",
        json_schema_extra=_name_schema,
    )
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            f"The job's input: a JSON object of at most {MAX_PAYLOAD_BYTES} bytes (as compact JSON). "
            "Required with `type`; optional with `task`, and then `{}`."
        ),
        json_schema_extra=_no_default,
    )

    @property
    def job_type(self) -> str:
        """The job's type, given as ``type`` or ``task``."""
        return self.type or self.task

    @field_validator("type", "task")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in JOB_TYPES:
            raise PydanticCustomError(
                "unknown_job_type",
                "unknown job type '{job_type}'; one of: {job_types}",
                {"job_type": value, "job_types": ", ".join(JOB_TYPES)},
            )
        return value

    @field_validator("payload")
    @classmethod
    def _bounded_json(cls, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            encoded = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        except ValueError:
            raise ValueError("payload must not contain NaN or Infinity") from None
        if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload must be at most {MAX_PAYLOAD_BYTES} bytes of JSON")
        return payload

    @model_validator(mode="wrap")
    @classmethod
    def _one_shape(cls, data: Any, handler: ModelWrapValidatorHandler[JobRequest]) -> JobRequest:
        """Check which fields go together, reporting each problem at its field along with the fields' own."""
        errors: list[InitErrorDetails] = []
        if isinstance(data, dict):
            if "type" in data and "task" in data:
                errors.append(
                    _error("type_and_task", "give either 'type' or its alias 'task', not both", ("task",), data["task"])
                )
            elif "type" not in data and "task" not in data:
                errors.append({"type": "missing", "loc": ("type",), "input": data})
            elif "type" in data and "payload" not in data:
                errors.append({"type": "missing", "loc": ("payload",), "input": data})
        try:
            request = handler(data)
        except ValidationError as exc:
            if not errors:
                raise
            errors.extend(_error(e["type"], e["msg"], e["loc"], e["input"]) for e in exc.errors())
            raise ValidationError.from_exception_data(cls.__name__, errors) from None
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return request


class JobAccepted(BaseModel):
    """The answer to ``POST /jobs``."""

    job_id: str
    status: str


def get_job_store() -> JobStore:
    """The jobs table (``JOB_RECORDS_TABLE_NAME``), with the process's DynamoDB client."""
    from stratus_common.aws import client  # botocore is imported on the first request, not at the cold start

    return JobStore(client("dynamodb"), table_name("job-records"))


def get_job_queue() -> JobQueue:
    """The jobs queue (``JOBS_QUEUE_URL``), with the process's SQS client."""
    from stratus_common.aws import client

    return JobQueue(client("sqs"), queue_url("jobs"))


@app.get("/", tags=["worker"])
def root() -> dict[str, str]:
    """Say what this is."""
    return {"service": "worker", "message": "Worker service is running", "version": get_settings().version}


@app.post("/jobs", status_code=202, response_model=JobAccepted, tags=["jobs"], responses=error_responses(400, 409, 503))
def create_job(
    body: Annotated[
        JobRequest,
        Body(
            openapi_examples={
                "sum": {
                    "summary": "A job: its type and payload",
                    "value": {"type": "sum", "payload": {"numbers": [1, 2, 3]}},
                },
                "process_data": {
                    "summary": "The task alias, with a payload",
                    "value": {"task": "process_data", "payload": {"key": "value"}},
                },
                "task_only": {
                    "summary": "The task alias alone: the payload is {}",
                    "value": {"task": "process_data"},
                },
            }
        ),
    ],
    request: Request,
    response: Response,
    store: Annotated[JobStore, Depends(get_job_store)],
    queue: Annotated[JobQueue, Depends(get_job_queue)],
) -> JobAccepted:
    """Store a job and queue it for the consumer.

    The body is ``{"type": ..., "payload": {...}}`` or its alias ``{"task": ...}`` (payload optional, ``{}``);
    a type with no processor, or both ``type`` and ``task``, is a 422 naming the field.
    """
    try:
        with unavailable_on_aws_error("store the job"):
            job = store.create(body.job_type, body.payload)
    except JobExists as exc:  # a uuid4 collision: practically impossible, but never overwrite a job
        raise Conflict("A job with this id already exists") from exc
    try:
        with unavailable_on_aws_error("queue the job"):
            queue.send(job)
    except ServiceUnavailable:
        try:
            store.fail_unqueued(job.job_id, "could not be queued")
        except Exception:
            logger.exception("Could not mark the unqueued job failed", extra={"job_id": job.job_id})
        raise
    logger.info("Job queued", extra={"job_id": job.job_id, "type": job.type})
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/jobs/{job.job_id}"
    return JobAccepted(job_id=job.job_id, status=QUEUED)


@app.get("/jobs/{job_id}", tags=["jobs"], responses=error_responses(404, 503))
def get_job(job_id: str, store: Annotated[JobStore, Depends(get_job_store)]) -> dict[str, Any]:
    """Return the job's status, and its result once it succeeded."""
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise NotFound(f"No job {job_id!r}") from None
    with unavailable_on_aws_error("read the job"):
        job = store.get(job_id)
    if job is None:
        raise NotFound(f"No job {job_id!r}")
    return job.public()


add_readiness_check(app, "jobs_table", lambda: get_job_store().ping())

handler = make_handler(app)
"""The Lambda handler (API Gateway HTTP API, payload format 2.0)."""
