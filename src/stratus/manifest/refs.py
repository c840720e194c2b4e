""":class:`Ref`: a value of the plan that only the running stack knows, resolved by each back end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RefKind = Literal["queue", "table", "bucket", "database", "secret", "model", "api", "stack"]

# What each kind of reference can name; each back end resolves every one of them.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "queue": ("url", "dlq_url", "name", "arn", "dlq_arn"),
    "table": ("name", "arn", "index_arns"),
    "bucket": ("name", "arn", "objects_arn"),
    "database": ("url", "secret_arn"),
    "secret": ("arn",),
    "model": ("id", "arn"),
    "api": ("url",),
    "stack": ("project", "environment", "region"),
}


@dataclass(frozen=True, slots=True)
class Ref:
    """``Ref("queue", "jobs", "url")``: the URL of queue ``jobs``, wherever the stack runs. For ``api`` and
    ``stack``, ``name`` is empty."""

    kind: RefKind
    name: str
    attr: str

    def __post_init__(self) -> None:
        if self.attr not in ATTRIBUTES[self.kind]:
            raise ValueError(f"a {self.kind} has no {self.attr!r} (known: {', '.join(ATTRIBUTES[self.kind])})")

    def __str__(self) -> str:
        return f"{self.kind}.{self.name}.{self.attr}" if self.name else f"{self.kind}.{self.attr}"


Value = str | Ref
