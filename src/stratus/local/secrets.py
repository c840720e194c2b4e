"""The values of the stack's declared secrets in the local cloud.

In AWS, Terraform generates a ``generate = N`` secret's value (N letters and digits, from Secrets Manager's own
generator) and an ``external`` one is set by hand. Locally there is no one to set it, so every declared secret
gets a random value of the same alphabet (``generate``'s length, else 64), made once and kept under
``.stratus/secrets/`` (readable by the owner only) so that tokens signed before a restart stay valid after it.
Nothing else is written: the value reaches services only through the local Secrets Manager, as in AWS.
"""

from __future__ import annotations

import os
import secrets
import string
from typing import TYPE_CHECKING

from stratus import paths

if TYPE_CHECKING:
    from pathlib import Path

    from stratus.manifest.plan import SecretPlan

ALPHABET = string.ascii_letters + string.digits  # as aws_secretsmanager_random_password with exclude_punctuation
EXTERNAL_LENGTH = 64


def random_value(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def local_values(root: Path, declared: dict[str, SecretPlan]) -> dict[str, str]:
    """Each declared secret's local value: the one kept from an earlier run, else a new one, kept."""
    folder = paths.secrets_dir(root)
    out = {}
    for name, secret in declared.items():
        path = folder / name
        try:
            out[name] = path.read_text(encoding="utf-8")
            continue
        except FileNotFoundError:
            pass
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = random_value(secret.spec.generate or EXTERNAL_LENGTH)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        out[name] = value
    return out
