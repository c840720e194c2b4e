"""The worker's OpenAPI document states what the stack answers: the HTTP API's authorizer (401, 403, in API Gateway's
shape) on every route, the worker's own errors, and a 405 with Allow for a method a path does not have."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from stratus_common.testing import client_for
from worker.main import app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from .conftest import Cloud

GATEWAY = {"$ref": "#/components/schemas/HttpApiError"}
ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.fixture
def client(cloud: Cloud) -> TestClient:
    return client_for(app)


def test_every_operation_documents_the_authorizers_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status in ("401", "403"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == GATEWAY, (method, path, status)


def test_post_jobs_documents_each_status_it_answers(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/jobs"]["post"]["responses"]
    assert set(responses) == {"202", "400", "401", "403", "409", "413", "422", "503"}
    for status in ("400", "409", "413", "422", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == ERROR, status


@pytest.mark.parametrize(("method", "path", "allow"), [("GET", "/jobs", "POST"), ("DELETE", "/jobs/x", "GET")])
def test_an_undeclared_method_is_a_405_with_allow(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert (response.status_code, response.headers["allow"]) == (405, allow)
    assert response.json()["error"]["code"] == "method_not_allowed"
