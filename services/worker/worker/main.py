"""The worker's HTTP API: ``worker.main.handler`` (Lambda, routed at ``/worker``) or ``worker.main:app`` (ASGI).

- ``POST /jobs`` stores a ``queued`` job and sends its id to the ``jobs`` queue: 202 with a Location;
- ``GET /jobs/{job_id}`` returns its status (and result, once it succeeded);
- ``/``, ``/health``, ``/liveness``, ``/readiness`` (ready when the jobs table answers).

The SQS consumer that processes the jobs is :mod:`worker.consumer`. AWS clients are created on first
use, not at import: importing this module is the Lambda cold start.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from stratus_common.app import add_readiness_check, create_app
from stratus_common.aws import client
from stratus_common.errors import Conflict, NotFound, ServiceUnavailable
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.settings import get_settings, queue_url, table_name

from worker.jobs import QUEUED, JobExists, JobQueue, JobStore

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["MAX_PAYLOAD_BYTES", "JobAccepted", "JobRequest", "app", "get_job_queue", "get_job_store", "handler"]

MAX_PAYLOAD_BYTES = 64 * 1024
"""The largest payload, as compact JSON: well inside DynamoDB's 400 KB item limit."""

logger = get_logger("worker")
app = create_app(
    "Worker Service",
    service="worker",
    description="Enqueues jobs on SQS and reports their status; the SQS consumer processes them.",
)


class JobRequest(BaseModel):
    """The body of ``POST /jobs``."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", description="What to do, e.g. echo"
    )
    payload: dict[str, Any] = Field(description=f"The job's input: a JSON object of at most {MAX_PAYLOAD_BYTES} bytes")

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


class JobAccepted(BaseModel):
    """The answer to ``POST /jobs``."""

    job_id: str
    status: str


def get_job_store() -> JobStore:
    """The jobs table (``JOB_RECORDS_TABLE_NAME``), with the process's DynamoDB client."""
    return JobStore(client("dynamodb"), table_name("job-records"))


def get_job_queue() -> JobQueue:
    """The jobs queue (``JOBS_QUEUE_URL``), with the process's SQS client."""
    return JobQueue(client("sqs"), queue_url("jobs"))


@contextmanager
def _aws_call(action: str) -> Iterator[None]:
    """Turn an AWS failure into a 503 the client may retry, logging the cause."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        logger.exception("Could not %s", action)
        raise ServiceUnavailable(f"Could not {action}; try again later") from exc


@app.get("/", tags=["worker"])
def root() -> dict[str, str]:
    """Say what this is."""
    return {"service": "worker", "message": "Worker service is running", "version": get_settings().version}


@app.post("/jobs", status_code=202, response_model=JobAccepted, tags=["jobs"])
def create_job(
    body: JobRequest,
    request: Request,
    response: Response,
    store: Annotated[JobStore, Depends(get_job_store)],
    queue: Annotated[JobQueue, Depends(get_job_queue)],
) -> JobAccepted:
    """Store a job and queue it for the consumer."""
    try:
        with _aws_call("store the job"):
            job = store.create(body.type, body.payload)
    except JobExists as exc:  # a uuid4 collision: practically impossible, but never overwrite a job
        raise Conflict("A job with this id already exists") from exc
    try:
        with _aws_call("queue the job"):
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


@app.get("/jobs/{job_id}", tags=["jobs"])
def get_job(job_id: str, store: Annotated[JobStore, Depends(get_job_store)]) -> dict[str, Any]:
    """Return the job's status, and its result once it succeeded."""
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise NotFound(f"No job {job_id!r}") from None
    with _aws_call("read the job"):
        job = store.get(job_id)
    if job is None:
        raise NotFound(f"No job {job_id!r}")
    return job.public()


add_readiness_check(app, "jobs_table", lambda: get_job_store().ping())

handler = make_handler(app)
"""The Lambda handler (API Gateway HTTP API, payload format 2.0)."""
