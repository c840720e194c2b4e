"""The toolkit's errors: each says what is wrong and how to fix it, and the CLI prints it as one line.

StratusError                 base: message + hint, exit code 1
├── ManifestError            stratus.toml cannot be used as written (stratus.manifest), exit 2
├── PrerequisiteError        a tool or credential the command needs is missing, exit 2
└── LocalCloudError          the local cloud could not start (port in use, a part failed), exit 1
"""

from __future__ import annotations


class StratusError(Exception):
    """An error the user can act on: what went wrong, and a hint on how to fix it."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class PrerequisiteError(StratusError):
    """A tool or credential the command needs is not there."""

    exit_code = 2


class LocalCloudError(StratusError):
    """The local cloud could not start or keep running."""
