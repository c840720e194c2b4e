"""What counts as a name and an e-mail address, and their normal forms."""

from __future__ import annotations

import pytest
from api.models import is_user_id, normalise_email, normalise_name


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee@Example.COM\t", "ann.lee@example.com"),
        ("ANN+tag@Mail.Example.co.uk", "ann+tag@mail.example.co.uk"),
        ("o'brien_x-y@example.org", "o'brien_x-y@example.org"),
        ("a@xn--bcher-kva.example", "a@xn--bcher-kva.example"),
        ("user@sub-domain.xn--p1ai", "user@sub-domain.xn--p1ai"),
        ("x" * 64 + "@example.com", "x" * 64 + "@example.com"),
    ],
)
def test_valid_addresses_are_lower_cased_whole(given: str, stored: str) -> None:
    assert normalise_email(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "",
        "plain",
        "@example.com",
        "ann@",
        "ann@localhost",
        "ann@example",
        ".ann@example.com",
        "ann.@example.com",
        "a..b@example.com",
        '"quoted"@example.com',
        "ann@exa_mple.com",
        "ann@example..com",
        "ann@-example.com",
        "ann@example-.com",
        "ann@example.123",
        "ann@[192.0.2.1]",
        "ann @example.com",
        "ann@example.com\x00",
        "ännchen@example.com",
        "ann@bücher.example",
        "a" * 65 + "@example.com",
        "a@" + ("x" * 63 + ".") * 4 + "com",
    ],
)
def test_invalid_addresses_are_refused(given: str) -> None:
    with pytest.raises(ValueError):
        normalise_email(given)


def test_names_are_nfc_normalised() -> None:
    assert normalise_name("Zoe\u0308") == "Zo\u00eb"
    assert normalise_name("李小龍 👨‍👩‍👧") == "李小龍 👨‍👩‍👧"


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1fb", "a\x7fb", "a\ud800b", "a\u2028b", "a\u202eb", "a\u2066b"])
def test_names_with_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        normalise_name(bad)


@pytest.mark.parametrize(
    ("user_id", "valid"),
    [
        ("user-123", True),
        ("A", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("_x", False),
        ("x.y", False),
        ("health", False),
        ("docs", False),
    ],
)
def test_which_ids_a_user_can_have(user_id: str, valid: bool) -> None:
    assert is_user_id(user_id) is valid
