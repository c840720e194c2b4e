"""The password policy: 12-128 characters, 3 different ones at least, not the username, not in the shipped list of
common and breached passwords (read lazily, case-insensitively, never from the network)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from importlib import resources
from typing import TYPE_CHECKING

import pytest
from idp import passwords
from idp.passwords import validate_password

if TYPE_CHECKING:
    from conftest import Cloud
    from fastapi.testclient import TestClient

# Real entries of the list (from the breach-derived "10 million passwords" and Django's list), as people type them
LISTED = ["iloveyou1234", "1234567890qwertyuiop", "123qwertyuiop", "helloiloveyou", "ILoveYou1234", "QWERTYUIOP123"]


def test_the_list_ships_inside_the_package_small_and_compressed() -> None:
    data = resources.files("idp").joinpath(passwords.COMMON_PASSWORDS_FILE).read_bytes()
    assert data[:2] == b"\x1f\x8b"  # gzip
    assert len(data) < 400 * 1024
    entries = gzip.decompress(data).decode("utf-8").splitlines()
    assert len(entries) > 40_000
    # only what the length rule lets through, lower-cased (the comparison is case-insensitive)
    assert all(passwords.MIN_PASSWORD <= len(entry) <= passwords.MAX_PASSWORD for entry in entries)
    assert all(entry == entry.lower() for entry in entries)


@pytest.mark.parametrize("password", LISTED)
def test_listed_passwords_are_refused_whatever_their_case(password: str) -> None:
    assert password.lower() in passwords.common_passwords()
    with pytest.raises(ValueError, match="common or breached"):
        validate_password(password)


@pytest.mark.parametrize(
    ("password", "username", "rule"),
    [
        ("x1y2z3a4b5c", None, "12-128"),  # 11
        ("x1y2z3" * 21 + "abc", None, "12-128"),  # 129
        ("Erin-Is-Here", "erin-is-here", "username"),
        ("abababababab", None, "3 different"),
        ("\n\n\n\n\n\n\n\n\n\n\n\n", None, "3 different"),
    ],
)
def test_the_other_rules(password: str, username: str | None, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        validate_password(password, username)


@pytest.mark.parametrize("password", ["x1y2z3a4b5c6", "x1y2z3" * 21 + "ab", "correct horse battery staple"])
def test_good_passwords_pass(password: str) -> None:
    assert validate_password(password, "someone") == password


def test_the_list_is_read_on_first_use_not_at_start_up() -> None:
    code = (
        "import idp.main, idp.passwords as p; before = p.common_passwords.cache_info().currsize; "
        "p.validate_password('x1y2z3a4b5c6'); print(before, p.common_passwords.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1"]


def test_registering_with_a_listed_password_is_a_422_that_does_not_echo_it(cloud: Cloud, client: TestClient) -> None:
    response = client.post("/register", json={"username": "mallory", "password": "IloveYou1234"})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "body.password"
    assert "common or breached" in detail["message"]
    assert "IloveYou1234".lower() not in response.text.lower()
