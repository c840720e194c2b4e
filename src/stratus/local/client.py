"""Talking to a running ``stratus dev`` from another process: where it listens (``.stratus/dev.json``) and
invocations through its Lambda Invoke API, as the AWS SDK makes them.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from stratus.errors import StratusError

STATE_FILE = Path(".stratus") / "dev.json"


@dataclass(frozen=True)
class RunningStack:
    api: str
    invoke: str
    aws: str
    env: str
    functions: dict[str, str]  # key ("worker", "worker/jobs") -> function name
    schedules: dict[str, str]
    handlers: dict[str, str]  # key -> handler

    def function_key(self, service: str, handler: str | None = None) -> str:
        """The function of ``service`` (its HTTP handler, or the one running ``handler``)."""
        if handler is None:
            if service not in self.functions:
                raise StratusError(f"the running stack has no Lambda service {service!r}")
            return service
        for key, running in self.handlers.items():
            if running == handler and (key == service or key.startswith(f"{service}/")):
                return key
        known = ", ".join(h for k, h in sorted(self.handlers.items()) if k == service or k.startswith(f"{service}/"))
        raise StratusError(
            f"no function of {service!r} runs {handler!r} in the running stack", hint=f"its handlers: {known or 'none'}"
        )

    def lambda_client(self) -> Any:
        return boto3.client(
            "lambda",
            endpoint_url=self.invoke,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local cloud checks no credentials
            config=Config(retries={"max_attempts": 0}, read_timeout=900),
        )


def running_stack(root: Path) -> RunningStack | None:
    """The stack ``stratus dev`` runs for the project at ``root``, or None when none runs."""
    path = root / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None  # left behind by a stack that was killed
    return RunningStack(
        api=state["api"],
        invoke=state["invoke"],
        aws=state["aws"],
        env=state["env"],
        functions=dict(state.get("functions", {})),
        schedules=dict(state.get("schedules", {})),
        handlers=dict(state.get("handlers", {})),
    )


@dataclass(frozen=True)
class Invocation:
    payload: bytes
    function_error: str | None
    log: str
    request_id: str


def invoke(stack: RunningStack, key: str, payload: bytes) -> Invocation:
    """Invoke a function of the running stack synchronously, with its log tail."""
    function = stack.functions.get(key)
    if function is None:
        known = ", ".join(sorted(stack.functions)) or "none"
        raise StratusError(f"the running stack has no function {key!r}", hint=f"its functions: {known}")
    response = stack.lambda_client().invoke(FunctionName=function, Payload=payload, LogType="Tail")
    log = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
    return Invocation(
        payload=response["Payload"].read(),
        function_error=response.get("FunctionError"),
        log=log,
        request_id=response["ResponseMetadata"].get("RequestId", ""),
    )
