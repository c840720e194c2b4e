"""Route selection: AWS's priority rules, service routes, and paths that must not be routed."""

from __future__ import annotations

import re

import pytest

from stratus.local.httpapi.routes import Route, RouteMatch, RouteTable
from stratus.manifest.routes import route_keys


def service_routes(target: str, path: str) -> list[Route]:
    """The routes the plan gives a service on ``path`` (without authorizers)."""
    return [Route(key, target) for key in route_keys(path)]


def table(*keys: str) -> RouteTable:
    return RouteTable(Route(key, key) for key in keys)


def matched_key(routes: RouteTable, method: str, path: str) -> str | None:
    found = routes.match(method, path)
    return None if found is None else found.route.key


# The stack of DESIGN.md: a gateway on "/" and services on their own paths.
STACK = RouteTable(
    service_routes("gateway", "/")
    + service_routes("worker", "/worker")
    + service_routes("idp", "/auth")
    + service_routes("players", "/players")
)


# --- service routes -----------------------------------------------------------------------------


def test_a_service_on_a_path_gets_the_path_and_everything_below_it() -> None:
    assert service_routes("worker", "/worker") == [
        Route("ANY /worker", "worker"),
        Route("ANY /worker/{proxy+}", "worker"),
    ]


def test_a_service_on_the_root_path_gets_the_default_route() -> None:
    assert service_routes("gateway", "/") == [Route("$default", "gateway")]


def test_a_service_on_a_nested_path_gets_that_path() -> None:
    assert [route.key for route in service_routes("api", "/api/v1")] == ["ANY /api/v1", "ANY /api/v1/{proxy+}"]


@pytest.mark.parametrize("path", ["worker", "/worker/", "/{x}", ""])
def test_a_service_path_that_is_not_a_plain_path_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="service path"):
        service_routes("svc", path)


# --- the stack ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "target", "parameters"),
    [
        ("GET", "/worker", "worker", None),
        ("POST", "/worker/jobs", "worker", {"proxy": "jobs"}),
        ("GET", "/worker/jobs/42", "worker", {"proxy": "jobs/42"}),
        ("DELETE", "/worker/", "worker", None),
        ("GET", "/worker/jobs/", "worker", {"proxy": "jobs"}),
        ("POST", "/auth/token", "idp", {"proxy": "token"}),
        ("GET", "/players/7/stats", "players", {"proxy": "7/stats"}),
        ("GET", "/", "gateway", None),
        ("GET", "/health/ready", "gateway", None),
        ("GET", "/workers", "gateway", None),
        ("GET", "/worker.", "gateway", None),
        ("GET", "/WORKER", "gateway", None),
        ("GET", "/Worker/jobs", "gateway", None),
        ("PROPFIND", "/worker/x", "worker", {"proxy": "x"}),
    ],
)
def test_a_request_in_the_stack_goes_to_the_service_owning_its_path(
    method: str, path: str, target: str, parameters: dict[str, str] | None
) -> None:
    # GIVEN the stack's routes  WHEN a request is matched
    found = STACK.match(method, path)
    # THEN it goes to the service that owns the literal path, with its proxy parameter
    assert found is not None
    assert (found.route.target, found.path_parameters) == (target, parameters)


# --- AWS's priority rules -----------------------------------------------------------------------

AWS_EXAMPLE = table("GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default")


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1"),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
        ("POST", "/test/5", "ANY /{proxy+}"),
        ("GET", "/", "$default"),
    ],
)
def test_the_worked_example_of_the_aws_routing_doc_routes_as_documented(method: str, path: str, key: str) -> None:
    assert matched_key(AWS_EXAMPLE, method, path) == key


def test_a_full_match_beats_a_greedy_route_which_beats_default() -> None:
    routes = table("GET /a/{x}", "GET /a/{proxy+}", "$default")
    assert matched_key(routes, "GET", "/a/b") == "GET /a/{x}"
    assert matched_key(routes, "GET", "/a/b/c") == "GET /a/{proxy+}"
    assert matched_key(routes, "GET", "/b") == "$default"


def test_an_exact_method_beats_any() -> None:
    routes = table("ANY /a", "GET /a", "ANY /b/{proxy+}", "POST /b/{proxy+}")
    assert matched_key(routes, "GET", "/a") == "GET /a"
    assert matched_key(routes, "PUT", "/a") == "ANY /a"
    assert matched_key(routes, "POST", "/b/c") == "POST /b/{proxy+}"
    assert matched_key(routes, "GET", "/b/c") == "ANY /b/{proxy+}"


def test_an_exact_method_is_compared_before_the_path_among_full_matches() -> None:
    # yulin's observed order: method, then literal-over-parameter
    routes = table("ANY /pets/dog", "GET /pets/{id}")
    assert matched_key(routes, "GET", "/pets/dog") == "GET /pets/{id}"
    assert matched_key(routes, "POST", "/pets/dog") == "ANY /pets/dog"


def test_a_literal_segment_beats_a_parameter_from_the_left() -> None:
    routes = table("GET /{a}/x", "GET /x/{b}", "GET /{a}/{b}")
    assert matched_key(routes, "GET", "/x/x") == "GET /x/{b}"
    assert matched_key(routes, "GET", "/y/x") == "GET /{a}/x"
    assert matched_key(routes, "GET", "/y/y") == "GET /{a}/{b}"


def test_the_longest_literal_prefix_wins_between_greedy_routes() -> None:
    routes = table("ANY /{proxy+}", "ANY /pets/{proxy+}", "ANY /pets/dog/{proxy+}")
    assert matched_key(routes, "GET", "/pets/dog/collars/1") == "ANY /pets/dog/{proxy+}"
    assert matched_key(routes, "GET", "/pets/cat") == "ANY /pets/{proxy+}"
    assert matched_key(routes, "GET", "/toys") == "ANY /{proxy+}"


@pytest.mark.parametrize("path", ["/worker", "/worker/"])
def test_a_greedy_parameter_needs_at_least_one_segment(path: str) -> None:
    assert matched_key(table("ANY /worker/{proxy+}", "$default"), "GET", path) == "$default"


def test_a_greedy_route_at_the_root_does_not_match_the_root_path() -> None:
    assert table("ANY /{proxy+}").match("GET", "/") is None


def test_a_path_matching_only_with_another_method_matches_nothing() -> None:
    # THEN the emulator answers 404, never 405
    assert table("GET /a", "POST /b/{proxy+}").match("DELETE", "/a") is None
    assert table("GET /a", "POST /b/{proxy+}").match("GET", "/b/c") is None


def test_a_table_without_default_matches_nothing_outside_its_routes() -> None:
    assert table("GET /a").match("GET", "/b") is None


def test_a_literal_root_route_matches_the_root_path() -> None:
    assert matched_key(table("GET /", "$default"), "GET", "/") == "GET /"


def test_a_head_request_does_not_match_a_get_route() -> None:
    assert table("GET /a").match("HEAD", "/a") is None


def test_path_parameters_are_named_after_the_route_and_decoded() -> None:
    routes = table("GET /users/{user_id}/items/{item}", "GET /files/{path+}")
    assert routes.match("GET", "/users/a%40b.com/items/x%20y") == RouteMatch(
        Route("GET /users/{user_id}/items/{item}", "GET /users/{user_id}/items/{item}"),
        {"user_id": "a@b.com", "item": "x y"},
    )
    found = routes.match("GET", "/files/a/b%20c/d.txt")
    assert found is not None
    assert found.path_parameters == {"path": "a/b c/d.txt"}


def test_the_table_keeps_its_routes_in_order() -> None:
    routes = [Route("GET /a", "x"), Route("$default", "y")]
    assert RouteTable(routes).routes == tuple(routes)


# --- paths that are decoded, and paths that are not routed ------------------------------------


@pytest.mark.parametrize(
    ("path", "target", "parameters"),
    [
        pytest.param("/worker%2Fjobs", "worker", {"proxy": "jobs"}, id="an encoded slash separates segments"),
        pytest.param("/w%6Frker/jobs", "worker", {"proxy": "jobs"}, id="an encoded letter is the letter"),
        pytest.param("/worker/%252e%252e", "worker", {"proxy": "%2e%2e"}, id="decoded once only"),
        pytest.param("/worker/a%23b", "worker", {"proxy": "a#b"}, id="an encoded hash is an ordinary character"),
        pytest.param("/worker/caf%C3%A9", "worker", {"proxy": "café"}, id="utf-8 escapes are decoded"),
        pytest.param("/worker/50%", "worker", {"proxy": "50%"}, id="a stray percent is kept"),
        pytest.param("/worker/...", "worker", {"proxy": "..."}, id="three dots are not a dot segment"),
        pytest.param("/worker/.hidden", "worker", {"proxy": ".hidden"}, id="a leading dot is not a dot segment"),
        pytest.param("/worker./x", "gateway", None, id="a trailing dot is part of the segment"),
        pytest.param("/%57orker/x", "gateway", None, id="routes are case-sensitive after decoding"),
    ],
)
def test_a_path_is_routed_on_its_decoded_segments(path: str, target: str, parameters: dict[str, str] | None) -> None:
    found = STACK.match("GET", path)
    assert found is not None
    assert (found.route.target, found.path_parameters) == (target, parameters)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/worker/../auth/token", id="a dot-dot segment"),
        pytest.param("/auth/../worker/jobs", id="a dot-dot segment into a protected service"),
        pytest.param("/worker/..", id="a trailing dot-dot segment"),
        pytest.param("/worker/../", id="a dot-dot segment before the trailing slash"),
        pytest.param("/worker/./jobs", id="a dot segment"),
        pytest.param("/.", id="a dot segment at the root"),
        pytest.param("/%2e%2e/auth", id="an encoded dot-dot segment"),
        pytest.param("/worker/%2E%2E/auth", id="an upper-case encoded dot-dot segment"),
        pytest.param("/worker/.%2e/auth", id="a half-encoded dot-dot segment"),
        pytest.param("/worker%2F..%2Fauth", id="a dot-dot segment between encoded slashes"),
        pytest.param("//worker", id="a leading empty segment"),
        pytest.param("/worker//jobs", id="an empty segment"),
        pytest.param("/worker//", id="two trailing slashes"),
        pytest.param("//", id="only slashes"),
        pytest.param("/worker%2F%2Fjobs", id="an empty segment from encoded slashes"),
        pytest.param("/worker/%00", id="an encoded NUL"),
        pytest.param("/worker/a%0Ab", id="an encoded line feed"),
        pytest.param("/worker/a%7Fb", id="an encoded DEL"),
        pytest.param("/worker%3Fadmin=1", id="an encoded question mark"),
        pytest.param("/worker/%ff", id="invalid utf-8"),
        pytest.param("worker/jobs", id="no leading slash"),
        pytest.param("", id="an empty path"),
        pytest.param("*", id="an asterisk-form target"),
        pytest.param("http://evil.example/worker", id="an absolute-form target"),
    ],
)
def test_a_path_that_could_be_read_two_ways_is_not_routed(path: str) -> None:
    # GIVEN the stack, which has a $default route that would take anything
    # WHEN a non-canonical path is matched
    # THEN nothing serves it (404), not even $default
    assert STACK.match("GET", path) is None


# --- what a route table refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["GET /users/{id}", "GET /users/{x}"], "'GET /users/{id}' and 'GET /users/{x}'"),
        (["ANY /a/{proxy+}", "ANY /a/{rest+}"], "'ANY /a/{proxy+}' and 'ANY /a/{rest+}'"),
        (["GET /a", "GET /a"], "'GET /a' and 'GET /a'"),
        (["$default", "$default"], "'$default' and '$default'"),
    ],
)
def test_two_routes_of_the_same_shape_are_refused_naming_both(keys: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        table(*keys)


def test_routes_of_the_same_path_with_different_methods_are_different_routes() -> None:
    routes = table("GET /users/{id}", "PUT /users/{x}", "ANY /users/{y}")
    found = routes.match("PUT", "/users/7")
    assert found is not None
    assert (found.route.key, found.path_parameters) == ("PUT /users/{x}", {"x": "7"})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("GET /a/{proxy+}/b", "must be the last segment"),
        ("FETCH /a", "method must be one of"),
        ("get /a", "method must be one of"),
        ("GET a", "must start with '/'"),
        ("GET", "must start with '/'"),
        ("GET /a/", "must not end with '/'"),
        ("GET /a//b", "empty or dot segment"),
        ("GET /a/../b", "empty or dot segment"),
        ("GET /a/{id}.json", "must be a whole segment"),
        ("GET /a/{}", "invalid parameter"),
        ("GET /a/{+}", "invalid parameter"),
        ("GET /a/{b c}", "invalid parameter"),
        ("GET /a/{id}/b/{id}", "appears twice"),
        ("GET /a/{id}/{id+}", "appears twice"),
        ("default", "method must be one of"),
    ],
)
def test_a_malformed_route_key_is_refused(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        table(key)
