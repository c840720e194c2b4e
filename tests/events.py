"""Event fixtures: ``load_event("apiGatewayProxyV2Event")`` reads ``tests/events/<name>.json``.

The fixtures are real shapes, named as aws-powertools names its own, so a test can compare what
Stratus builds with what AWS sends:

- ``apiGatewayProxyV2Event``: AWS's published payload 2.0 example
  (apigateway/latest/developerguide/http-api-develop-integrations-lambda.html), header names
  lower-cased as the current page says they are.
- ``apiGatewayProxyV2CapturedGetEvent``: a real event captured behind an HTTP API (a curl GET,
  ``$default`` stage; 4DN docs, see shared/reference/aws-behaviour.md A1). Values the publisher
  elided are ``"..."``.
- ``apiGatewayProxyV2Response`` / ``apiGatewayProxyV2ResponseBase64``: full-form Lambda results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The fixture ``tests/events/<name>.json`` (the ``.json`` may be given or not)."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    data = json.loads((EVENTS_DIR / file_name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{file_name}: expected a JSON object")
    return data
