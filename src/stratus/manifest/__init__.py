"""``stratus.toml`` -> :class:`Stack` -> :class:`Plan`: the one model of the stack that everything else reads.

- :mod:`~stratus.manifest.schema`: the tables as pydantic models (types, ranges, defaults);
- :mod:`~stratus.manifest.load`: reading the file for one environment, every problem at once;
- :mod:`~stratus.manifest.checks`: the rules across tables (what a back end or AWS would refuse);
- :mod:`~stratus.manifest.stack`: the parsed manifest, :class:`Stack`;
- :mod:`~stratus.manifest.plan`: what the back ends need, derived once (``stack.plan``): functions
  (:mod:`~stratus.manifest.plan`), routes and authorizers (:mod:`~stratus.manifest.routes`), environments
  (:mod:`~stratus.manifest.wiring`) and grants (:mod:`~stratus.manifest.grants`).

Errors name the file, the table and the field: ``stratus.toml: services.worker.memory: must be 128–10240 MB
(got 20000)``.
"""

from __future__ import annotations

from stratus.manifest.load import find_root, load_stack, parse_stack
from stratus.manifest.plan import Plan
from stratus.manifest.problems import ManifestError, Problem
from stratus.manifest.schema import (
    ACCESS_LEVELS,
    APPRUNNER_SIZES,
    DEFAULT_AUTHORIZER,
    DEFAULT_ENV,
    MANIFEST_NAME,
    PATH_RE,
    PER_ENVIRONMENT,
    RESOURCE_TABLES,
    ContainerService,
    HealthCheck,
    LambdaService,
    Service,
)
from stratus.manifest.stack import Binding, Stack

__all__ = [
    "ACCESS_LEVELS",
    "APPRUNNER_SIZES",
    "DEFAULT_AUTHORIZER",
    "DEFAULT_ENV",
    "MANIFEST_NAME",
    "PATH_RE",
    "PER_ENVIRONMENT",
    "RESOURCE_TABLES",
    "Binding",
    "ContainerService",
    "HealthCheck",
    "LambdaService",
    "ManifestError",
    "Plan",
    "Problem",
    "Service",
    "Stack",
    "find_root",
    "load_stack",
    "parse_stack",
]
