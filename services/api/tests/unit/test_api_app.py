"""The api app's probes, and what it answers outside its routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Cloud
    from fastapi.testclient import TestClient


def test_health_reports_healthy(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"]) == ("healthy", "api")


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/liveness").json() == {"status": "alive"}
    assert client.get("/readiness").json() == {"status": "ready"}


def test_readiness_fails_when_a_table_is_missing(client: TestClient, cloud: Cloud) -> None:
    # GIVEN the user-emails table is gone
    cloud.dynamodb.delete_table(TableName=cloud.emails_table)
    # WHEN readiness is probed
    response = client.get("/readiness")
    # THEN the service is not ready, and says which check failed
    assert response.status_code == 503
    assert set(response.json()["checks"]) == {"users_tables"}


def test_an_unknown_nested_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(client: TestClient) -> None:
    response = client.patch("/user-1", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
