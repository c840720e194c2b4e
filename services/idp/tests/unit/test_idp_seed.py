"""The local cloud's demo accounts: seeded there, and only there."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import pytest
from idp import main, seed

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient


@pytest.fixture
def local_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    # in_local_cloud() itself is tested on its inputs; here moto's in-process mock stands in for the local cloud
    monkeypatch.setattr(seed, "in_local_cloud", lambda: True)
    seed.reset()


def test_the_demo_user_and_client_exist_in_the_local_cloud(
    local_cloud: None, client: TestClient, login: Callable[..., Any]
) -> None:
    response = login(username=seed.DEMO_USERNAME, password=seed.DEMO_PASSWORD)
    assert response.status_code == 200, response.text
    basic = base64.b64encode(f"{seed.DEMO_CLIENT_ID}:{seed.DEMO_CLIENT_SECRET}".encode()).decode()
    machine = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers={"authorization": f"Basic {basic}"}
    )
    assert machine.status_code == 200
    assert machine.json()["scope"] == "api texts:write"


def test_seeding_twice_changes_nothing(local_cloud: None, cloud: Cloud) -> None:
    assert seed.seed_demo(main.get_accounts()) == ["user demo", "client demo-client"]
    assert seed.seed_demo(main.get_accounts()) == []


def test_nothing_is_seeded_outside_the_local_cloud(cloud: Cloud, login: Callable[..., Any]) -> None:
    assert login(username=seed.DEMO_USERNAME, password=seed.DEMO_PASSWORD).status_code == 400
    assert cloud.items("accounts") == []


def test_seeding_can_be_turned_off(
    local_cloud: None, cloud: Cloud, login: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_SEED_DEMO", "false")
    assert login(username=seed.DEMO_USERNAME, password=seed.DEMO_PASSWORD).status_code == 400


def test_the_command_refuses_demo_accounts_outside_the_local_cloud(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seed.main([]) == 2
    assert "local cloud only" in capsys.readouterr().err
    assert cloud.items("accounts") == []


def test_the_command_creates_a_user_reading_the_password_from_stdin(
    cloud: Cloud, login: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-password\n"))
    assert seed.main(["--username", "erin", "--password-stdin"]) == 0
    assert "a-long-enough-password" not in capsys.readouterr().out
    assert login(username="erin", password="a-long-enough-password").status_code == 200
