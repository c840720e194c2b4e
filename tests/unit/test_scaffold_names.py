"""The naming rules of `stratus new` / `add`: what is refused, why, and what is suggested instead."""

from __future__ import annotations

import pytest

from stratus import naming
from stratus.scaffold.names import (
    ScaffoldError,
    check_path,
    check_resource_name,
    check_service_name,
    slugify,
)


@pytest.mark.parametrize("name", ["orders", "billing-api", "notifier", "catalog", "inventory", "s3-sync", "players2go"])
def test_specific_lowercase_names_are_accepted(name: str) -> None:
    assert check_service_name(name) == name


@pytest.mark.parametrize(
    ("name", "why", "suggestion"),
    [
        ("Orders", "lowercase", "'orders'"),
        ("my_orders", "hyphens, not underscores", "'my-orders'"),
        ("my orders", "letters, digits and hyphens", "'my-orders'"),
        ("orders!", "letters, digits and hyphens", "'orders'"),
        ("2fast", "start with a letter", "'fast'"),
        ("orders--v2", "double or trailing hyphen", "'orders-v2'"),
        ("orders-", "double or trailing hyphen", "'orders'"),
    ],
)
def test_badly_formed_names_say_why_and_suggest_a_valid_one(name: str, why: str, suggestion: str) -> None:
    with pytest.raises(ScaffoldError) as caught:
        check_service_name(name)
    assert why in caught.value.message
    assert caught.value.hint == f"try {suggestion}"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name", ["app", "service", "test", "tests", "svc", "lambda", "main"])
def test_generic_names_are_refused(name: str) -> None:
    with pytest.raises(ScaffoldError, match=r"generic|reserved") as caught:
        check_service_name(name)
    assert "e.g. orders" in (caught.value.hint or "")


@pytest.mark.parametrize("name", ["service1", "api2", "app-3", "web10", "service-1"])
def test_numbered_generic_names_are_refused(name: str) -> None:
    with pytest.raises(ScaffoldError, match="number"):
        check_service_name(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("stratus", "toolkit"),
        ("common", "toolkit"),
        ("libs", "toolkit"),
        ("infra", "toolkit"),
        ("fastapi", "libraries"),
        ("json", "standard-library"),
        ("email", "standard-library"),
        ("http", "standard-library"),
        ("logging", "standard-library"),
        ("stratus-common", "toolkit"),
    ],
)
def test_reserved_names_are_refused_with_a_nearby_valid_name(name: str, reason: str) -> None:
    with pytest.raises(ScaffoldError, match=reason) as caught:
        check_service_name(name)
    hint = caught.value.hint or ""
    if hint.startswith("try '"):  # a suggestion is itself a valid name
        suggested = hint.removeprefix("try '").removesuffix("'")
        assert check_service_name(suggested) == suggested


def test_an_installed_package_is_reserved_unless_it_is_one_of_the_workspace_services() -> None:
    # `worker` is installed (it is a service of this workspace): new elsewhere, it would collide
    with pytest.raises(ScaffoldError, match="already installed"):
        check_service_name("worker")
    assert check_service_name("worker", existing=frozenset({"worker"})) == "worker"


def test_every_suggestion_for_a_bad_format_is_valid() -> None:
    for bad in ["My Service", "Orders_API", "JSON", "x--y", "-lead"]:
        with pytest.raises(ScaffoldError) as caught:
            check_service_name(bad)
        hint = caught.value.hint or ""
        if hint.startswith("try '"):
            suggested = hint.removeprefix("try '").removesuffix("'")
            assert naming.SERVICE_NAME_RE.fullmatch(suggested)
            assert check_service_name(suggested) == suggested


def test_slugify() -> None:
    assert slugify("MyService") == "my-service"
    assert slugify("  Orders_API 2 ") == "orders-api-2"
    assert slugify("123") == ""


def test_resource_names_follow_the_manifest_rules() -> None:
    assert check_resource_name("table", "rate_limits") == "rate_limits"
    assert check_resource_name("queue", "order-events") == "order-events"
    with pytest.raises(ScaffoldError, match="invalid bucket name") as caught:
        check_resource_name("bucket", "my_files")  # S3: no underscores
    assert caught.value.hint == "try 'my-files'"
    with pytest.raises(ScaffoldError, match="lowercase"):
        check_resource_name("table", "Orders")


def test_a_path_must_be_well_formed_and_free() -> None:
    routed = {"/": "gateway", "/web": "web"}
    assert check_path("/orders", routed) == "/orders"
    assert check_path("/v1/orders", routed) == "/v1/orders"
    with pytest.raises(ScaffoldError, match="already routed to service 'web'"):
        check_path("/web", routed)
    with pytest.raises(ScaffoldError, match="already routed to service 'gateway'"):
        check_path("/", routed)
    for bad in ["orders", "/orders/", "/Orders", "/a//b"]:
        with pytest.raises(ScaffoldError, match="invalid path"):
            check_path(bad, routed)


def test_a_package_installed_here_blocks_a_new_service_but_not_a_new_projects_first() -> None:
    # `stratus new` installs the service where stratus runs: an installed package of that name would collide;
    # `stratus init` makes a project with an environment of its own, where it would not
    with pytest.raises(ScaffoldError, match="already installed"):
        check_service_name("werkzeug")
    assert check_service_name("werkzeug", this_environment=False) == "werkzeug"
