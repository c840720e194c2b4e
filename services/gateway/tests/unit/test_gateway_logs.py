"""No API key, token or signing secret appears in any log line or error body of the gateway."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from gateway import authorizer, main
from stratus_common import apikeys

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud, TokenKit
    from fastapi.testclient import TestClient


def test_secrets_never_reach_the_logs_or_the_answers(
    cloud: Cloud,
    client: TestClient,
    kit: TokenKit,
    authorizer_event: Callable[..., dict[str, Any]],
    http_event: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)  # botocore's DEBUG logs echo request bodies: never run it at DEBUG in prod
    caplog.set_level(logging.DEBUG, logger="gateway")
    caplog.set_level(logging.DEBUG, logger="gateway.authorizer")
    caplog.set_level(logging.DEBUG, logger="stratus")
    limit = {"requests": 1, "period": 60, "bucket": "service:worker"}
    monkeypatch.setenv(
        "STRATUS_ROUTES",
        json.dumps({"ANY /worker": {"auth": "api_key", "rate_limit": limit}, "ANY /players": {"auth": "token"}}),
    )
    monkeypatch.setenv("UPSTREAM_DOWN_URL", "http://127.0.0.1:9")
    authorizer.reset()
    main.reset()
    key = apikeys.create_api_key(cloud.dynamodb, cloud.tables["api_keys"], name="ci").plaintext
    near_key = key[:-2] + "zz"
    session_id = cloud.create_session("user-1")
    token = kit.sign(kit.claims("user-1", session_id))
    forged = kit.sign(kit.claims("user-1", session_id), secret="forged-but-long-enough-forged-but-long-enough")
    bodies: list[str] = []

    # WHEN every path that handles a credential runs: allowed, denied, rate-limited, logged out, proxied, failing
    for headers in ({"x-api-key": key}, {"x-api-key": key}, {"x-api-key": near_key}):
        bodies.append(json.dumps(authorizer.handler(authorizer_event("ANY /worker", "/worker", headers=headers), None)))
    for value in (token, forged, "garbage." + token):
        event = authorizer_event("ANY /players", "/players", headers={"authorization": f"Bearer {value}"})
        bodies.append(json.dumps(authorizer.handler(event, None)))
    for value in (forged, token, token):  # the last one after logout
        response = client.delete("/sessions/current", headers={"authorization": f"Bearer {value}"})
        bodies.append(response.text + json.dumps(dict(response.headers)))
    upstream = main.handler(
        http_event("POST", "/down/x", headers={"authorization": f"Bearer {token}", "x-api-key": key}, body=b"{}"),
        None,
    )
    bodies.append(json.dumps(upstream))
    monkeypatch.setenv("API_KEYS_TABLE_NAME", "no-such-table")
    authorizer.reset()
    with pytest.raises(Exception):  # noqa: B017 - any failure: what matters is what it logged
        authorizer.handler(authorizer_event("ANY /worker", "/worker", headers={"x-api-key": key}), None)

    # THEN the logs and the answers carry none of the secrets
    captured = capfd.readouterr()
    everything = "\n".join([captured.out, captured.err, caplog.text, *bodies])
    assert "authorizer decision" in everything  # the logs were captured
    for secret in (key, key.split("_", 2)[2], near_key, token, forged, token.split(".")[2], kit.secret):
        assert secret not in everything
