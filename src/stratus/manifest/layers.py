"""AWS's managed Powertools layer (``[project] powertools = "layer"``): its ARN's parameter and what it brings.

AWS publishes Powertools for AWS Lambda (Python) V3 as a public layer per Python version and architecture, built
from ``aws-lambda-powertools[all]``, so it carries pydantic and pydantic-core as well (powertools-lambda-python,
``layer_v3/layer_constructors/helpers.py``), under ``python/`` with their ``*.dist-info`` (``layer_v3/docker/
Dockerfile``; its canary reads ``importlib.metadata``). Each release's layer version ARN is a public SSM parameter,
``/aws/service/powertools/python/<arch>/<python3.X>/<version>`` (``.github/workflows/update_ssm.yml``). The
version is the one ``uv.lock`` pins, so the layer holds the Powertools that ``stratus dev`` runs; the Terraform reads
the parameter, the build leaves out what the layer brings, and ``stratus deploy`` checks the layer's contents
against the lock before it applies (:mod:`stratus.deploy.layers`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from stratus.errors import StratusError

POWERTOOLS = "aws-lambda-powertools"

# aws-lambda-powertools[all] and what it needs (its METADATA: Requires-Dist, extra == 'all'), canonical names, less
# what AWS deletes from the layer because the runtime has it: boto3, botocore, s3transfer, python-dateutil, urllib3,
# six and jmespath (layer_v3/docker/Dockerfile). A service leaves out those it needs; `stratus deploy` refuses a layer
# that lacks one or holds another version.
POWERTOOLS_LAYER_DISTRIBUTIONS = frozenset(
    {
        POWERTOOLS, "typing-extensions",
        "pydantic", "pydantic-core", "annotated-types", "typing-inspection",
        "pydantic-settings", "python-dotenv",
        "aws-xray-sdk", "wrapt", "aws-encryption-sdk", "attrs", "cryptography", "cffi", "pycparser",
        "fastjsonschema", "jsonpath-ng", "pyjwt",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ManagedLayer:
    """A layer AWS publishes, attached to a function: what it brings, and the SSM parameter holding its version ARN
    (read from ``lock`` when asked, so that only what needs the layer needs the lock)."""

    name: str
    runtime: str
    arch: str
    lock: Path
    distributions: frozenset[str]

    @property
    def version(self) -> str:
        """The Powertools version ``uv.lock`` pins: the layer's."""
        version = locked_version(self.lock, POWERTOOLS)
        if version is None:
            raise StratusError(
                f'[project] powertools = "layer", but {self.lock} pins no single version of {POWERTOOLS}',
                hint=f'depend on {POWERTOOLS} and run `uv lock`, or set [project] powertools = "bundle"',
            )
        return version

    @property
    def parameter(self) -> str:
        return f"/aws/service/powertools/python/{self.arch}/{self.runtime}/{self.version}"


def powertools_layer(root: Path, runtime: str, arch: str) -> ManagedLayer:
    """AWS's Powertools layer for ``runtime`` and ``arch``, of the Powertools version ``root/uv.lock`` pins."""
    return ManagedLayer("powertools", runtime, arch, root / "uv.lock", POWERTOOLS_LAYER_DISTRIBUTIONS)


def locked_version(lock: Path, name: str) -> str | None:
    """The version ``lock`` (a uv.lock) pins for ``name``; None when absent or pinned at several versions."""
    try:
        stat = lock.stat()
    except FileNotFoundError:
        return None
    return _versions(lock, stat.st_mtime_ns, stat.st_size).get(name)


@cache
def _versions(lock: Path, _mtime: int, _size: int) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for entry in tomllib.loads(lock.read_text()).get("package", []):
        if "version" in entry:
            found.setdefault(entry["name"], set()).add(entry["version"])
    return {name: next(iter(versions)) for name, versions in found.items() if len(versions) == 1}
