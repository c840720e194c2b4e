"""install_error_handlers: every error a FastAPI app meets becomes {"error": {code, message[, details]}}."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from stratus_common.errors import (
    ApiError,
    BadGateway,
    BadRequest,
    Conflict,
    ErrorResponse,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    error_body,
    error_responses,
    install_error_handlers,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient
    from starlette.types import ASGIApp

SECRET = "hunter2-very-secret"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Job(BaseModel):
    type: str = Field(min_length=1, max_length=10)
    payload: dict[str, Any]


def _app(logger: logging.Logger) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, logger=logger)

    @app.get("/api-error")
    def api_error() -> None:
        raise TooManyRequests("Slow down", details={"limit": 10}, headers={"Retry-After": "3"})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"database password is {SECRET}")

    @app.get("/http-exception")
    def http_exception() -> None:
        raise HTTPException(status_code=418, detail={"why": "teapot"})

    @app.post("/jobs")
    def create(job: Job) -> dict[str, str]:
        return {"type": job.type}

    @app.get("/items/{item_id}")
    def item(item_id: int, limit: int = 10) -> dict[str, int]:
        return {"item_id": item_id, "limit": limit}

    return app


@pytest.fixture
def records() -> _Records:
    return _Records()


@pytest.fixture
def client(make_client: Callable[[ASGIApp], TestClient], records: _Records) -> TestClient:
    logger = logging.getLogger("test_common_errors")
    logger.handlers = [records]
    logger.propagate = False
    return make_client(_app(logger))


@pytest.mark.parametrize(
    ("error_class", "status", "code"),
    [
        (BadRequest, 400, "bad_request"),
        (Unauthorized, 401, "unauthorized"),
        (Forbidden, 403, "forbidden"),
        (NotFound, 404, "not_found"),
        (Conflict, 409, "conflict"),
        (PayloadTooLarge, 413, "payload_too_large"),
        (TooManyRequests, 429, "too_many_requests"),
        (BadGateway, 502, "bad_gateway"),
        (ServiceUnavailable, 503, "service_unavailable"),
    ],
)
def test_each_api_error_has_its_status_and_code(error_class: Callable[[str], ApiError], status: int, code: str) -> None:
    # GIVEN an error raised with only a message
    error = error_class("it went wrong")
    # WHEN it is inspected
    # THEN it is an ApiError with its class's status and code
    assert isinstance(error, ApiError)
    assert (error.status_code, error.code, error.message, error.details) == (status, code, "it went wrong", None)


def test_an_api_error_becomes_its_status_and_json_body(client: TestClient) -> None:
    # GIVEN a route raising TooManyRequests with details and a Retry-After header
    # WHEN it is called
    response = client.get("/api-error")
    # THEN the response carries them in the standard shape
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {"error": {"code": "too_many_requests", "message": "Slow down", "details": {"limit": 10}}}


def test_a_custom_api_error_keeps_its_status_and_code(make_client: Callable[[ASGIApp], TestClient]) -> None:
    # GIVEN a route raising the base ApiError with its own status and code
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/gone")
    def gone() -> None:
        raise ApiError(410, "job_expired", "The job expired")

    # WHEN it is called
    response = make_client(app).get("/gone")
    # THEN both are kept, and there is no "details" key
    assert response.status_code == 410
    assert response.json() == {"error": {"code": "job_expired", "message": "The job expired"}}


def test_validation_errors_name_each_field_without_echoing_values(client: TestClient) -> None:
    # GIVEN a body whose fields are wrong, one of them holding a secret
    body = {"type": SECRET, "payload": SECRET}
    # WHEN it is posted
    response = client.post("/jobs", json=body)
    # THEN it is a 422 naming body.type and body.payload, and the secret is nowhere in the response
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = {detail["field"]: detail["message"] for detail in error["details"]}
    assert set(fields) == {"body.type", "body.payload"}
    assert "at most 10 characters" in fields["body.type"]
    assert "valid dictionary" in fields["body.payload"]
    assert SECRET not in response.text


def test_a_missing_field_is_named(client: TestClient) -> None:
    # GIVEN a body without its payload
    # WHEN it is posted
    response = client.post("/jobs", json={"type": "echo"})
    # THEN the detail names body.payload as required
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "body.payload", "message": "Field required", "type": "missing"}
    ]


def test_path_and_query_parameters_are_named_by_location(client: TestClient) -> None:
    # GIVEN a path and a query parameter that are not integers
    # WHEN the route is called
    response = client.get("/items/abc", params={"limit": "many"})
    # THEN each is named by where it was
    assert response.status_code == 422
    assert {detail["field"] for detail in response.json()["error"]["details"]} == {"path.item_id", "query.limit"}


def test_malformed_json_is_a_400_naming_the_problem(client: TestClient) -> None:
    # GIVEN a body that is not valid JSON
    # WHEN it is posted
    response = client.post("/jobs", content=b'{"type": "echo", ', headers={"content-type": "application/json"})
    # THEN it is a 400 saying what is wrong and where
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert "not valid JSON" in error["message"]
    assert "Expecting property name" in error["message"]
    assert "position 17" in error["message"]


def test_an_unknown_route_is_a_json_404(client: TestClient) -> None:
    # GIVEN no route at /nowhere
    # WHEN it is called
    response = client.get("/nowhere")
    # THEN the 404 has the standard shape
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_a_wrong_method_is_a_json_405_with_allow(client: TestClient) -> None:
    # GIVEN a route that only accepts POST
    # WHEN it is called with DELETE
    response = client.delete("/jobs")
    # THEN the 405 has the standard shape and says what is allowed
    assert response.status_code == 405
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "Method Not Allowed"}}
    assert response.headers["allow"] == "POST"


def test_an_http_exception_with_structured_detail_keeps_it_as_details(client: TestClient) -> None:
    # GIVEN a route raising FastAPI's HTTPException with a dict detail
    # WHEN it is called
    response = client.get("/http-exception")
    # THEN the status names the code, and the detail is the details
    assert response.status_code == 418
    assert response.json() == {
        "error": {"code": "im_a_teapot", "message": "I'm a Teapot", "details": {"why": "teapot"}}
    }


def test_an_unhandled_exception_is_a_generic_500_and_its_traceback_is_logged(
    client: TestClient, records: _Records
) -> None:
    # GIVEN a route that fails with an exception carrying a secret
    # WHEN it is called
    response = client.get("/boom")
    # THEN the client gets the generic 500 and nothing of the exception
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
    assert SECRET not in response.text
    # AND the traceback is logged once
    assert len(records.records) == 1
    record = records.records[0]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "GET /boom" in record.getMessage()


def test_error_body_leaves_out_empty_details() -> None:
    # GIVEN an error with and one without details
    # WHEN their bodies are built
    # THEN "details" only appears when there are some
    assert error_body("x", "y") == {"error": {"code": "x", "message": "y"}}
    assert error_body("x", "y", []) == {"error": {"code": "x", "message": "y", "details": []}}


@pytest.mark.parametrize(
    "body",
    [
        error_body("not_found", "No such job"),
        error_body("validation_error", "Request validation failed", [{"field": "body.x", "message": "m", "type": "t"}]),
        error_body("conflict", "Changed", {"current_version": 3}),
    ],
)
def test_every_error_body_is_an_error_response(body: dict[str, Any]) -> None:
    # GIVEN bodies the handlers send WHEN they are read as the documented model THEN they fit, and round-trip
    assert ErrorResponse.model_validate(body).model_dump(exclude_none=True) == body


def test_an_error_response_needs_a_code_and_a_message() -> None:
    with pytest.raises(ValueError, match="code"):
        ErrorResponse.model_validate({"error": {"message": "no code"}})


def test_error_responses_document_each_status_with_the_error_shape() -> None:
    # WHEN the responses of a route are built for a few statuses, one with its own description
    responses = error_responses(404, 409, 418, descriptions={409: "email_taken or version_conflict"})
    # THEN each status has the model, our description, a description of its own, or the status's phrase
    assert list(responses) == [404, 409, 418]
    assert all(response["model"] is ErrorResponse for response in responses.values())
    assert responses[404]["description"] == "No such resource"
    assert responses[409]["description"] == "email_taken or version_conflict"
    assert responses[418]["description"] == "I'm a Teapot"


def test_documented_errors_are_in_the_openapi_document(make_client: Callable[[ASGIApp], TestClient]) -> None:
    # GIVEN a route that documents its 404
    app = FastAPI()

    @app.get("/things/{thing_id}", responses=error_responses(404))
    def thing(thing_id: int) -> dict[str, int]:
        raise NotFound("No such thing")

    # WHEN the OpenAPI document is read
    document = make_client(app).get("/openapi.json").json()
    # THEN the 404 refers to the error shape, whose details are optional
    not_found = document["paths"]["/things/{thing_id}"]["get"]["responses"]["404"]
    assert not_found["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message"}
