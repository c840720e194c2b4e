"""Shared by the infra tests: the frozen reference stack, rendering it, and reading generated HCL."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import hcl2

from stratus.infra.render import render
from stratus.manifest import Stack, load_stack, parse_stack

REFERENCE = Path(__file__).parent / "reference"
SNAPSHOTS = REFERENCE / "terraform"
ENVS = ("dev", "prod")


def reference_stacks() -> dict[str, Stack]:
    return {env: load_stack(REFERENCE, env=env) for env in ENVS}


@functools.cache
def reference_files() -> dict[str, str]:
    return render(reference_stacks())


def stacks_from(raw: dict[str, Any], root: Path, envs: tuple[str, ...] = ENVS) -> dict[str, Stack]:
    return {env: parse_stack(raw, root=root, env=env) for env in envs}


def parse(text: str) -> dict[str, Any]:
    """A generated file, parsed by the one HCL parser (bc-python-hcl2)."""
    return hcl2.loads(text)  # type: ignore[no-any-return]


def one(value: Any) -> Any:
    """bc-python-hcl2 wraps attribute values in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def module_block(text: str, name: str) -> dict[str, Any]:
    """The arguments of ``module "<name>"`` in a generated root file."""
    for entry in parse(text).get("module", []):
        if name in entry:
            return {k: one(v) for k, v in entry[name].items() if not k.startswith("__")}
    raise KeyError(f"no module {name!r}")
