"""The gateway answers as its OpenAPI document says: a 405 (not its catch-all's 404) for a method a path of its own
does not have, every status it answers documented, readiness outcomes that hold no AWS detail."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from gateway import main, proxy
from moto.core import set_initial_no_auth_action_count
from stratus_common.aws import reset_clients
from stratus_common.environment import ConfigurationError
from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud, TokenKit
    from fastapi.testclient import TestClient

ACCOUNT = "123456789012"  # moto's account, which AWS's error messages name


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/health", "GET"),
        ("POST", "/health/live", "GET"),
        ("DELETE", "/health/ready", "GET"),
        ("PATCH", "/liveness", "GET"),
        ("PUT", "/readiness", "GET"),
        ("PUT", "/sessions/current", "DELETE, GET"),
    ],
)
def test_an_undeclared_method_on_a_path_of_the_gateway_is_a_405(
    cloud: Cloud, client: TestClient, method: str, path: str, allow: str
) -> None:
    # WHEN a path of the gateway's own is called with a method it does not have (the upstream route takes them all)
    response = client.request(method, path)
    # THEN 405, naming the methods it has, in the stack's error shape
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "Method Not Allowed"}}


def test_through_the_lambda_handler_too(cloud: Cloud, http_event: Callable[..., dict[str, Any]], kit: TokenKit) -> None:
    response = main.handler(http_event("PUT", "/health"), None)
    assert (response["statusCode"], response["headers"]["allow"]) == (405, "GET")
    assert kit.lambda_json(response)["error"]["code"] == "method_not_allowed"


def test_an_unknown_path_stays_a_404_whatever_the_method(cloud: Cloud, client: TestClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = client.request(method, "/no/such/thing")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_an_upstream_prefix_may_not_take_the_docs() -> None:
    for prefix in ("/docs", "/redoc", "/openapi.json"):
        with pytest.raises(ConfigurationError, match="gateway's own routes"):
            proxy.load_upstreams({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_PATH": prefix})


def test_the_document_states_every_status_the_routes_answer(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    # the session routes: the token (401), the rate limit (429), the sessions table (503)
    assert set(paths["/sessions/current"]["get"]["responses"]) == {"200", "401", "429", "503"}
    assert set(paths["/sessions/current"]["delete"]["responses"]) == {"204", "401", "429", "503"}
    # the probes are never rate-limited; readiness documents its 503
    assert set(paths["/health/ready"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/readiness"]["get"]["responses"]) == {"200", "503"}
    for probe in ("/health", "/health/live", "/liveness"):
        assert set(paths[probe]["get"]["responses"]) == {"200"}


def test_a_session_route_whose_table_does_not_answer_is_a_503(
    cloud: Cloud, client: TestClient, kit: TokenKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a valid token, and a sessions table that is gone
    session_id = cloud.create_session("user-1")
    token = kit.sign(kit.claims("user-1", session_id))
    cloud.dynamodb.delete_table(TableName=cloud.tables["sessions"])
    # WHEN the session is asked for THEN 503, the documented status, and nothing of AWS's message
    for method in ("GET", "DELETE"):
        response = client.request(method, "/sessions/current", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 503
        assert response.json()["error"] == {
            "code": "service_unavailable",
            "message": "Could not read the session; try again later",
        }
        assert response.headers["retry-after"] == "1"


def _ready_with_denied_credentials(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Any:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="gateway-probe")
    key = iam.create_access_key(UserName="gateway-probe")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    reset_clients()
    get_settings.cache_clear()
    return client.get("/health/ready")


def test_readiness_says_unavailable_and_logs_only_the_errors_class(
    cloud: Cloud, client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN credentials IAM allows nothing: DynamoDB answers AccessDenied, whose message names the caller's ARN and
    # the account (moto enforces IAM after the 2 requests that create the user and its key)
    ready = set_initial_no_auth_action_count(2)(_ready_with_denied_credentials)
    caplog.set_level(logging.WARNING)
    # WHEN readiness is probed
    response = ready(client, monkeypatch)
    # THEN 503, each check "unavailable", and nothing of what AWS said
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {
            "sessions_table": "unavailable",
            "rate_limits_table": "unavailable",
            "api_keys_table": "unavailable",
        },
        "failing": ["api_keys_table", "rate_limits_table", "sessions_table"],
    }
    # AND the log has the error's class and code, and neither the ARN, the account nor the tables' names
    [record] = [r for r in caplog.records if r.getMessage() == "Readiness checks failed"]
    assert set(record.__dict__["checks"].values()) == {"ClientError (403)"}
    for leaked in ("arn:", ACCOUNT, "gateway-probe", "not authorized", *cloud.tables.values()):
        assert leaked not in response.text
        assert leaked not in caplog.text
