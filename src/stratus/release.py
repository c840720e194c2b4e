"""The toolkit's distributions and version, and the ranges a project made by ``stratus init`` depends on.

Two distributions, released together with one version: ``stratus-serverless`` (the toolkit: the ``stratus``
command, the local cloud, the Terraform, the pytest plugin) and ``stratus-common`` (the runtime library every
service depends on). ``stratus`` on PyPI is another project, hence the toolkit's name.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version

TOOLKIT = "stratus-serverless"
RUNTIME = "stratus-common"


def toolkit_version() -> str:
    """The installed toolkit's version."""
    try:
        return version(TOOLKIT)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def compatible(distribution: str, *, extras: str = "") -> str:
    """A requirement on ``distribution`` for versions compatible with this toolkit's: the same minor series before
    1.0 (``>=0.1.0,<0.2``), the same major one after (``>=1.2.0,<2``)."""
    current = Version(toolkit_version())
    upper = f"{current.major}.{current.minor + 1}" if current.major == 0 else f"{current.major + 1}"
    return f"{distribution}{f'[{extras}]' if extras else ''}>={current.base_version},<{upper}"
