"""Talking to a running ``stratus dev`` from another process: where it listens (:class:`DevState`), clients of
its AWS, and invocations through its Lambda Invoke API, as the AWS SDK makes them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from stratus_common.aws import new_session

from stratus import naming
from stratus.errors import PrerequisiteError, StratusError
from stratus.local.state import DevState

if TYPE_CHECKING:
    from pathlib import Path


def running_stack(root: Path) -> DevState | None:
    """The stack ``stratus dev`` runs for the project at ``root``, or None when none runs."""
    return DevState.read(root)


def function_key(stack: DevState, service: str, handler: str | None = None) -> str:
    """The function of ``service`` in the running stack (its HTTP handler, or the one running ``handler``)."""
    if handler is None:
        if service not in stack.functions:
            raise StratusError(f"the running stack has no Lambda service {service!r}")
        return service
    for key, running in stack.handlers.items():
        if running == handler and (key == service or key.startswith(f"{service}/")):
            return key
    known = ", ".join(h for k, h in sorted(stack.handlers.items()) if k == service or k.startswith(f"{service}/"))
    raise StratusError(
        f"no function of {service!r} runs {handler!r} in the running stack", hint=f"its handlers: {known or 'none'}"
    )


def client(stack: DevState, service: str, *, read_timeout: float = 60) -> Any:
    """A boto3 client of the running stack: its Lambda Invoke API for ``lambda``, its AWS for the others."""
    endpoint = stack.invoke if service == "lambda" else stack.aws
    return new_session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=stack.region,
        aws_access_key_id=naming.LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=naming.LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=naming.LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
        config=Config(retries={"max_attempts": 0}, read_timeout=read_timeout),
    )


@dataclass(frozen=True)
class Invocation:
    payload: bytes
    function_error: str | None
    log: str
    request_id: str

    def json(self) -> Any:
        """The function's result, parsed."""
        return json.loads(self.payload)


def invoke(stack: DevState, key: str, payload: bytes) -> Invocation:
    """Invoke a function of the running stack synchronously, with its log tail."""
    function = stack.functions.get(key)
    if function is None:
        known = ", ".join(sorted(stack.functions)) or "none"
        raise StratusError(f"the running stack has no function {key!r}", hint=f"its functions: {known}")
    lambda_client = client(stack, "lambda", read_timeout=900)
    response = lambda_client.invoke(FunctionName=function, Payload=payload, LogType="Tail")
    log = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
    return Invocation(
        payload=response["Payload"].read(),
        function_error=response.get("FunctionError"),
        log=log,
        request_id=response["ResponseMetadata"].get("RequestId", ""),
    )


def trigger(stack: DevState, schedule: str) -> Invocation:
    """Fire ``SERVICE.SCHEDULE`` of the running stack now, with the Scheduled Event its rule would send."""
    from stratus.events import samples

    service, _, name = schedule.partition(".")
    key = f"{service}/{name}"
    if key not in stack.schedules:
        known = ", ".join(k.replace("/", ".") for k in sorted(stack.schedules)) or "none"
        raise StratusError(f"no schedule {schedule!r} in the running stack", hint=f"its schedules: {known}")
    event = samples.schedule(rule=stack.functions[key], region=stack.region)
    return invoke(stack, key, json.dumps(event).encode())


def require_running(root: Path, env: str) -> DevState:
    """The running stack of ``env`` for the project at ``root``, or an error saying how to start it."""
    running = DevState.read(root)
    if running is None or running.env != env:
        raise PrerequisiteError(
            f"no local stack runs here for environment {env!r}",
            hint=f"start it with `uv run stratus dev{'' if env == 'dev' else ' --env ' + env}`",
        )
    return running
