"""create_app exposes no more than it must: generic readiness outcomes, no public docs outside local and dev, and a
405 (not a 404) in the stack's shape for a method a path does not have."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from fastapi import FastAPI, Request
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from stratus_common.app import add_readiness_check, create_app, public_docs
from stratus_common.environment import ConfigurationError
from stratus_common.errors import HttpApiError, MethodNotAllowed, NotFound, allowed_methods, error_responses

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from starlette.types import ASGIApp

MakeClient = Callable[["ASGIApp"], "TestClient"]
ACCOUNT = "123456789012"  # moto's account: AWS names it in its error messages
DOCS = ("/docs", "/redoc", "/openapi.json")

# ------------------------------------------------------------------------------------------- readiness


def _denied_readiness(make_client: MakeClient) -> tuple[int, Any, str]:
    """/readiness of an app whose check reads a table with credentials IAM allows nothing: AWS's AccessDenied,
    whose message names the caller's ARN and the account."""
    with mock_aws():
        admin = boto3.client("dynamodb", region_name="us-east-1")
        admin.create_table(
            TableName="secret-jobs",
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="readiness-probe")
        key = iam.create_access_key(UserName="readiness-probe")["AccessKey"]
        probe = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        with pytest.raises(Exception, match=f"arn:aws:iam::{ACCOUNT}:user/readiness-probe"):  # what AWS says
            probe.get_item(TableName="secret-jobs", Key={"job_id": {"S": "x"}})
        app = create_app("S", service="s")
        add_readiness_check(
            app, "jobs_table", lambda: probe.get_item(TableName="secret-jobs", Key={"job_id": {"S": "x"}})
        )
        response = make_client(app).get("/readiness")
        return response.status_code, response.json(), response.text


def test_readiness_answers_a_generic_outcome_and_logs_only_the_errors_class(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a check that fails with AWS's AccessDenied, whose message holds an IAM ARN and the account id
    # (moto enforces IAM after the first 3 requests: creating the table, the user and its key)
    denied = set_initial_no_auth_action_count(3)(_denied_readiness)
    # WHEN /readiness is probed
    status, body, text = denied(make_client)
    # THEN the answer says which check failed, and only that it is unavailable...
    assert (status, body) == (503, {"status": "not ready", "checks": {"jobs_table": "unavailable"}})
    # ...the log says what failed (the error's class and AWS code)...
    [record] = [r for r in caplog.records if r.getMessage() == "Readiness checks failed"]
    assert record.__dict__["checks"] == {"jobs_table": "ClientError (403)"}
    # ...and neither the answer nor the log holds the ARN, the account or the table's name
    for leaked in ("arn:", ACCOUNT, "readiness-probe", "secret-jobs", "not authorized"):
        assert leaked not in text
        assert leaked not in caplog.text


def test_a_check_returning_false_is_unavailable(make_client: MakeClient) -> None:
    app = create_app("S", service="s")
    add_readiness_check(app, "flag", lambda: False)
    body = make_client(app).get("/readiness").json()
    assert body == {"status": "not ready", "checks": {"flag": "unavailable"}}


def test_readiness_documents_its_503(make_client: MakeClient) -> None:
    document = make_client(create_app("S", service="s")).get("/openapi.json").json()
    responses = document["paths"]["/readiness"]["get"]["responses"]
    assert responses["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NotReady"}
    outcome = document["components"]["schemas"]["NotReady"]["properties"]["checks"]["additionalProperties"]
    assert set(outcome["enum"]) == {"ok", "unavailable", "timed out"}


# ------------------------------------------------------------------------------------------- documentation


@pytest.mark.parametrize(
    ("environ", "public"),
    [
        ({}, True),  # no STRATUS_ENV: a developer's machine, "local"
        ({"STRATUS_ENV": "local"}, True),
        ({"STRATUS_ENV": "dev"}, True),
        ({"STRATUS_ENV": "prod"}, False),
        ({"STRATUS_ENV": "staging"}, False),
        ({"ENVIRONMENT": "prod"}, False),
        ({"STRATUS_ENV": "prod", "STRATUS_PUBLIC_DOCS": "true"}, True),
        ({"STRATUS_ENV": "prod", "STRATUS_PUBLIC_DOCS": "TRUE"}, True),
        ({"STRATUS_ENV": "dev", "STRATUS_PUBLIC_DOCS": "false"}, False),
    ],
)
def test_docs_are_public_in_local_and_dev_only_unless_told(environ: dict[str, str], public: bool) -> None:
    assert public_docs(environ) is public


def test_a_bad_public_docs_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="STRATUS_PUBLIC_DOCS"):
        public_docs({"STRATUS_PUBLIC_DOCS": "maybe"})


def test_in_production_the_docs_are_a_json_404(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a service started in production, even one that asks for its docs at the default URLs
    monkeypatch.setenv("STRATUS_ENV", "prod")
    client = make_client(create_app("S", service="s", docs_url="/docs"))
    # WHEN the documentation is asked for THEN each is the stack's JSON 404
    for path in DOCS:
        response = client.get(path)
        assert (response.status_code, response.json()) == (
            404,
            {"error": {"code": "not_found", "message": "Not Found"}},
        )
    # (the service still has its document, for the tests and the tools that read it from the app)
    assert "/readiness" in client.app.openapi()["paths"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "environ",
    [{"STRATUS_ENV": "local"}, {"STRATUS_ENV": "dev"}, {"STRATUS_ENV": "prod", "STRATUS_PUBLIC_DOCS": "true"}],
)
def test_in_local_and_dev_or_when_told_the_docs_are_served(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    client = make_client(create_app("S", service="s"))
    assert client.get("/openapi.json").json()["info"]["title"] == "S"
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")


# ------------------------------------------------------------------------------------------- 405


def test_an_undeclared_method_is_a_405_with_allow_in_the_error_shape(make_client: MakeClient) -> None:
    client = make_client(create_app("S", service="s"))
    response = client.put("/readiness")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "Method Not Allowed"}}


def test_the_allow_of_a_405_lists_every_method_of_the_path(make_client: MakeClient) -> None:
    # GIVEN a path with a route per method (Starlette's own 405 names the methods of the first route it meets)
    app = create_app("S", service="s")

    @app.get("/things/{thing_id}")
    def get_thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @app.put("/things/{thing_id}")
    def put_thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @app.delete("/things/{thing_id}", status_code=204)
    def delete_thing(thing_id: int) -> None:
        return None

    @app.get("/things/{thing_id}/parts")
    def parts(thing_id: int) -> list[str]:
        return []

    client = make_client(app)
    # WHEN it is called with a method none of them has (not OPTIONS: every OPTIONS is a 204, stratus_common.preflight)
    for method in ("PATCH", "POST"):
        response = client.request(method, "/things/7")
        # THEN 405, and Allow names them all
        assert (response.status_code, response.headers["allow"]) == (405, "DELETE, GET, PUT"), method
        assert response.json()["error"]["code"] == "method_not_allowed"
    # AND a path whose value a parameter would also take has only its own methods (/health is not /things/{id})
    assert client.put("/health").headers["allow"] == "GET"
    assert client.post("/things/7/parts").headers["allow"] == "GET"


def test_a_path_that_a_parameter_would_take_too_allows_only_its_own_methods(make_client: MakeClient) -> None:
    # GIVEN a probe, and a route whose parameter takes any single segment (as /players/{player_id} does)
    app = create_app("S", service="s")

    @app.put("/{item_id}")
    def put_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    # WHEN /readiness is called with a method of neither THEN Allow is the probe's, as its document says
    response = make_client(app).request("PATCH", "/readiness")
    assert (response.status_code, response.headers["allow"]) == (405, "GET")


def test_a_catch_all_route_answers_405_for_a_path_of_its_own(make_client: MakeClient) -> None:
    # GIVEN an app whose last route takes every path and method (as the gateway's upstream routes do)
    app = create_app("S", service="s")

    @app.post("/things")
    def create_thing() -> dict[str, str]:
        return {}

    @app.api_route("/{path:path}", methods=["GET", "PUT", "DELETE", "OPTIONS"], include_in_schema=False)
    def anything(request: Request) -> dict[str, str]:
        allowed = allowed_methods(app, request.scope)
        if allowed:
            raise MethodNotAllowed(allowed)
        raise NotFound("Not Found")

    client = make_client(app)
    # WHEN a path of the app's own is called with a method it does not have THEN 405, naming those it has
    for method, path, allow in (
        ("PUT", "/health", "GET"),
        ("DELETE", "/things", "POST"),
        ("PATCH", "/liveness", "GET"),
    ):
        response = client.request(method, path)
        assert (response.status_code, response.headers.get("allow")) == (405, allow), (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"
    # AND any other path is still a 404
    assert client.put("/elsewhere").status_code == 404


def test_method_not_allowed_lists_the_methods_sorted_and_upper_case() -> None:
    error = MethodNotAllowed({"post", "GET", "HEAD"})
    assert (error.status_code, error.code, error.headers) == (405, "method_not_allowed", {"Allow": "GET, HEAD, POST"})


# ------------------------------------------------------------------------------------------- documented errors


def _app(**kwargs: Any) -> FastAPI:
    app = create_app("S", service="s", **kwargs)

    @app.post("/things", status_code=201)
    def create_thing(thing: dict[str, str]) -> dict[str, str]:
        return thing

    @app.get("/things/{thing_id}")
    def get_thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    return app


def test_the_errors_every_route_may_answer_are_documented_but_on_the_probes(make_client: MakeClient) -> None:
    # GIVEN a service whose every route is rate-limited
    document = make_client(_app(documented_errors=(429,))).get("/openapi.json").json()
    paths = document["paths"]
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    # THEN every operation documents the 429 as the error shape...
    for path, method in (("/things", "post"), ("/things/{thing_id}", "get")):
        assert paths[path][method]["responses"]["429"]["content"]["application/json"]["schema"] == error
    # ...but the probes, which are never limited
    for probe in ("/health", "/liveness", "/readiness"):
        assert "429" not in paths[probe]["get"]["responses"]


def test_a_json_body_documents_the_400_of_a_body_that_is_not_json(make_client: MakeClient) -> None:
    client = make_client(_app())
    document = client.get("/openapi.json").json()
    assert "400" in document["paths"]["/things"]["post"]["responses"]
    assert "400" not in document["paths"]["/things/{thing_id}"]["get"]["responses"]
    sent = client.post("/things", content=b"{not json", headers={"content-type": "application/json"})
    assert (sent.status_code, sent.json()["error"]["code"]) == (400, "invalid_json")


def test_logging_of_the_failure_detail_is_a_warning(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    app = create_app("S", service="s")

    def broken() -> None:
        raise ConnectionError("could not connect to https://dynamodb.us-east-1.amazonaws.com/ for account 4242")

    add_readiness_check(app, "table", broken)
    assert make_client(app).get("/readiness").json()["checks"] == {"table": "unavailable"}
    [record] = [r for r in caplog.records if r.getMessage() == "Readiness checks failed"]
    assert (record.levelno, record.__dict__["checks"]) == (logging.WARNING, {"table": "ConnectionError"})
    assert "4242" not in caplog.text


def test_the_http_apis_own_answers_are_documented_in_its_shape(make_client: MakeClient) -> None:
    # GIVEN a service behind the HTTP API's authorizer, one of whose routes answers 403 itself too
    app = create_app("S", service="s", http_api_errors=(401, 403))

    @app.get("/mine", responses=error_responses(403))
    def mine() -> dict[str, str]:
        return {}

    document = make_client(app).get("/openapi.json").json()
    error, gateway = {"$ref": "#/components/schemas/ErrorResponse"}, {"$ref": "#/components/schemas/HttpApiError"}

    def schema(path: str, status: str) -> Any:
        return document["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]

    # THEN every operation, the probes too (they are behind the authorizer as well), documents API Gateway's shape...
    for path in ("/health", "/readiness", "/mine"):
        assert schema(path, "401") == gateway
    # ...and a status the route answers itself may be either shape
    assert schema("/mine", "403") == {"anyOf": [error, gateway]}
    assert schema("/health", "403") == gateway
    assert document["components"]["schemas"]["HttpApiError"]["required"] == ["message"]
    assert HttpApiError.model_validate({"message": "Forbidden"}).message == "Forbidden"


def test_without_http_api_errors_their_shape_is_not_in_the_document(make_client: MakeClient) -> None:
    document = make_client(create_app("S", service="s")).get("/openapi.json").json()
    assert "HttpApiError" not in document["components"]["schemas"]
