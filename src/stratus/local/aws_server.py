"""The embedded AWS: moto's server, with the changes the local cloud needs to behave like AWS.

Run as ``python -m stratus.local.aws_server --port N`` (moto's own console script cannot load patches).

- DynamoDB conditional writes are atomic in AWS; moto applies conditions without any lock, so two
  concurrent ``UpdateItem``s can both pass a condition (shared/reference/feasibility.md §1c). Every DynamoDB
  action runs under one lock here, which makes each request atomic, as in AWS.
- Responses are written with TCP_NODELAY: ``http.server`` sends headers and body in separate writes, and
  Nagle's algorithm with delayed ACKs would add tens of milliseconds to calls.
- The werkzeug request log is silenced (one line per AWS call would drown the stack's own logs).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any


def _serialise_dynamodb() -> None:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original: Callable[..., Any] = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _no_nagle() -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    MotoRequestHandler.disable_nagle_algorithm = True


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _serialise_dynamodb()
    _no_nagle()
    from moto import server

    server.main(argv)


if __name__ == "__main__":
    main()
