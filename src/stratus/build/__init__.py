"""Artifacts: Lambda zips (:mod:`~stratus.build.package`), Dockerfiles and image tags.

Reads the manifest model only; never imports ``stratus.local`` or ``stratus.infra`` (``stratus.deploy``
composes them).
"""

from __future__ import annotations

from stratus.build.archive import BuildInfo, SizeReport
from stratus.build.package import Builder, BuildOptions, BuildResult
from stratus.build.targets import Target, host_target

__all__ = ["BuildInfo", "BuildOptions", "BuildResult", "Builder", "SizeReport", "Target", "host_target"]
