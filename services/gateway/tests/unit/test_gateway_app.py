"""The gateway's own routes: health probes and sessions (logout), through the app and the Lambda handler."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from gateway import authorizer, main
from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud, TokenKit
    from fastapi.testclient import TestClient


def test_health_says_healthy_environment_and_version(
    cloud: Cloud, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (the version is SERVICE_VERSION when the Lambda starts, i.e. when the module is imported)
    monkeypatch.setenv("STRATUS_ENV", "dev")
    get_settings.cache_clear()
    body = client.get("/health").json()
    assert (body["status"], body["environment"], body["version"]) == ("healthy", "dev", main.app.version)


def test_liveness(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "alive"}


def test_ready_when_every_table_answers(cloud: Cloud, client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"sessions_table": "ok", "rate_limits_table": "ok", "api_keys_table": "ok"},
    }
    assert client.get("/readiness").json() == {"status": "ready"}


def test_not_ready_names_the_failing_check(
    cloud: Cloud, client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the rate_limits table does not exist
    monkeypatch.setenv("RATE_LIMITS_TABLE_NAME", "no-such-table")
    get_settings.cache_clear()
    # WHEN readiness is checked
    response = client.get("/health/ready")
    # THEN 503, naming the failing check with a generic outcome...
    assert response.status_code == 503
    body = response.json()
    assert body == {
        "status": "not ready",
        "checks": {"sessions_table": "ok", "rate_limits_table": "unavailable", "api_keys_table": "ok"},
        "failing": ["rate_limits_table"],
    }
    # ...and the log says why: the error's class, not its message
    [record] = [r for r in caplog.records if r.getMessage() == "Readiness checks failed"]
    assert record.__dict__["checks"] == {"rate_limits_table": "ResourceNotFoundException"}


def test_not_ready_when_a_table_is_not_configured(
    client: TestClient, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_KEYS_TABLE_NAME")
    get_settings.cache_clear()
    body = client.get("/health/ready").json()
    assert body["failing"] == ["api_keys_table"]
    assert body["checks"]["api_keys_table"] == "unavailable"


# ------------------------------------------------------------------------------------------- sessions


def _login(cloud: Cloud, kit: TokenKit, subject: str = "user-1") -> tuple[str, str]:
    session_id = cloud.create_session(subject)
    return session_id, kit.sign(kit.claims(subject, session_id))


def test_the_current_session(cloud: Cloud, client: TestClient, kit: TokenKit) -> None:
    session_id, token = _login(cloud, kit)
    response = client.get("/sessions/current", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["session_id"] == session_id
    assert response.json()["status"] == "active"


def test_logout_revokes_the_session_and_its_token_at_once(
    cloud: Cloud,
    client: TestClient,
    kit: TokenKit,
    authorizer_event: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a logged-in user whose token opens a protected route
    monkeypatch.setenv(
        "STRATUS_ROUTES", json.dumps({"ANY /players": {"auth": "token"}, "ANY /players/{proxy+}": {"auth": "token"}})
    )
    authorizer.reset()
    session_id, token = _login(cloud, kit)
    bearer = {"authorization": f"Bearer {token}"}
    event = authorizer_event("ANY /players/{proxy+}", "/players/1", headers=bearer)
    assert authorizer.handler(event, None)["isAuthorized"] is True
    # WHEN the user logs out
    response = client.delete("/sessions/current", headers=bearer)
    # THEN 204, the session is revoked...
    assert response.status_code == 204
    [item] = [i for i in cloud.items("sessions") if i["session_id"]["S"] == session_id]
    assert (item["status"]["S"], item["revoked_reason"]["S"]) == ("revoked", "logout")
    # ...and the token, still unexpired, is refused by the authorizer and the gateway at once
    assert authorizer.handler(event, None) == {"isAuthorized": False}
    again = client.delete("/sessions/current", headers=bearer)
    assert again.status_code == 401
    assert 'error="invalid_token"' in again.headers["www-authenticate"]


def test_logout_of_one_session_leaves_the_others(cloud: Cloud, client: TestClient, kit: TokenKit) -> None:
    _, first = _login(cloud, kit)
    _, second = _login(cloud, kit)
    assert client.delete("/sessions/current", headers={"authorization": f"Bearer {first}"}).status_code == 204
    assert client.get("/sessions/current", headers={"authorization": f"Bearer {second}"}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code", "challenge"),
    [
        ({}, "unauthorized", 'Bearer realm="stratus"'),
        ({"authorization": "Basic dTpw"}, "invalid_request", 'error="invalid_request"'),
        ({"authorization": "Bearer not.a.token"}, "invalid_token", 'error="invalid_token"'),
    ],
)
def test_logout_without_a_valid_token_is_a_401_json(
    cloud: Cloud, client: TestClient, headers: dict[str, str], code: str, challenge: str
) -> None:
    response = client.delete("/sessions/current", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert challenge in response.headers["www-authenticate"]


def test_an_unknown_path_is_a_json_404(cloud: Cloud, client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


# ------------------------------------------------------------------------------------------- Lambda


def test_the_lambda_handler_serves_the_root_path(
    cloud: Cloud, http_event: Callable[..., dict[str, Any]], kit: TokenKit
) -> None:
    # GIVEN the gateway routed at "/" (ANY /{proxy+}), as the local cloud and Terraform configure it
    health = main.handler(http_event("GET", "/health"), None)
    assert health["statusCode"] == 200
    assert kit.lambda_json(health)["status"] == "healthy"
    assert kit.lambda_json(main.handler(http_event("GET", "/health/ready"), None))["status"] == "ready"
    # AND logout works through it
    _, token = _login(cloud, kit)
    logout = main.handler(http_event("DELETE", "/sessions/current", headers={"authorization": f"Bearer {token}"}), None)
    assert logout["statusCode"] == 204
