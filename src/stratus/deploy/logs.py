"""``stratus logs SERVICE``: the service's log lines, from the running local stack or from CloudWatch.

- Locally, ``stratus dev`` copies each service's lines to ``.stratus/logs/<service>.log``
  (:class:`stratus.local.logs.LogSink` with ``log_dir``); this prints that file and, with ``--follow``,
  what is appended to it (a new ``stratus dev`` empties it: reading starts again from the top).
- In AWS, CloudWatch Logs ``FilterLogEvents`` on the service's log group: ``/aws/lambda/<project>-<env>-<svc>``
  for a Lambda service, the ``.../application`` group App Runner creates under
  ``/aws/apprunner/<project>-<env>-<svc>/<service id>/``, ``/aws/ecs/<project>-<env>-<svc>`` for ECS Express.
  ``--follow`` polls for new events, as ``aws logs tail --follow`` does.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stratus import paths
from stratus.errors import StratusError
from stratus.manifest import LambdaService, Stack

POLL_S = 2.0
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")


def parse_since(value: str) -> dt.timedelta:
    """``10m`` -> 10 minutes (s, m, h, d)."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise StratusError(f"--since {value!r}: give a number and a unit, e.g. 30s, 10m, 2h, 1d")
    amount, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})


def local_log(stack: Stack, service: str) -> Path:
    return paths.logs_dir(stack.root) / f"{service}.log"


def follow_file(
    path: Path,
    *,
    follow: bool,
    sleep: Callable[[float], None] = time.sleep,
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[str]:
    """The lines of ``path``, then (``follow``) the lines appended to it; starts over when it is truncated."""
    position = 0
    partial = ""
    while True:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < position:  # emptied by a new run
            position, partial = 0, ""
        if size > position:
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(position)
                chunk = handle.read()
                position = handle.tell()
            lines = (partial + chunk).split("\n")
            partial = lines.pop()
            yield from lines
        if not follow or not keep_going():
            if partial and not follow:
                yield partial
            return
        sleep(POLL_S)


def local_lines(stack: Stack, service: str, *, follow: bool, **kwargs: Any) -> Iterator[str]:
    _check_service(stack, service)
    path = local_log(stack, service)
    if not path.exists():
        raise StratusError(
            f"no local logs for {service}: {path.relative_to(stack.root)} does not exist",
            hint="the running `stratus dev` writes them; for the deployed service add --aws",
        )
    return follow_file(path, follow=follow, **kwargs)


# ---------------------------------------------------------------------------------------------- CloudWatch


def log_group(stack: Stack, service: str, logs: Any) -> str:
    """The CloudWatch log group the deployed service writes to."""
    svc = _check_service(stack, service)
    name = stack.plan.services[service].aws_name
    if isinstance(svc, LambdaService):
        return stack.plan.services[service].function("http").log_group
    if svc.kind == "ecs-express":
        return f"/aws/ecs/{name}"
    prefix = f"/aws/apprunner/{name}/"
    groups = [
        group["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix)
        for group in page["logGroups"]
        if group["logGroupName"].endswith("/application")
    ]
    if not groups:
        raise StratusError(
            f"no App Runner application log group under {prefix}",
            hint=f"is {service} deployed to this account and region? (`stratus deploy --env {stack.env}`)",
        )
    return str(sorted(groups)[-1])


class CloudWatchTail:
    """Reads a log group's events from ``start``; with ``follow``, keeps polling for new ones."""

    def __init__(
        self,
        logs: Any,
        group: str,
        *,
        start: dt.datetime,
        sleep: Callable[[float], None] = time.sleep,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> None:
        self.logs = logs
        self.group = group
        self.start_ms = int(start.timestamp() * 1000)
        self.sleep = sleep
        self.keep_going = keep_going
        self._seen: set[str] = set()

    def fetch(self) -> list[dict[str, Any]]:
        """Every event since the last one seen (events at the same millisecond are told apart by id)."""
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"logGroupName": self.group, "startTime": self.start_ms, "interleaved": True}
        while True:
            try:
                page = self.logs.filter_log_events(**kwargs)
            except self.logs.exceptions.ResourceNotFoundException as exc:
                raise StratusError(
                    f"log group {self.group} does not exist",
                    hint="it appears once the service has been deployed and has logged something",
                ) from exc
            for event in page.get("events", []):
                if event["eventId"] not in self._seen:
                    self._seen.add(event["eventId"])
                    events.append(event)
            token = page.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        events.sort(key=lambda e: (e["timestamp"], e["eventId"]))
        if events:
            self.start_ms = events[-1]["timestamp"]
        return events

    def lines(self, *, follow: bool) -> Iterator[str]:
        while True:
            for event in self.fetch():
                yield format_event(event)
            if not follow or not self.keep_going():
                return
            self.sleep(POLL_S)


def format_event(event: dict[str, Any]) -> str:
    moment = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    stream = event.get("logStreamName", "")
    short = stream.rsplit("]", 1)[-1][:8] if "]" in stream else stream[-8:]
    return f"{moment}Z {short} {event['message'].rstrip()}"


def _check_service(stack: Stack, service: str) -> Any:
    svc = stack.services.get(service)
    if svc is None:
        raise StratusError(
            f"no service named {service!r} in {stack.manifest_path.name}",
            hint=f"services: {', '.join(stack.services)}",
        )
    return svc
