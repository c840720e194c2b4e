"""Scaffolding: ``stratus new`` (a service), ``stratus add`` (a resource) and ``stratus init`` (a project).

Composes the model (:mod:`stratus.manifest`), the Dockerfiles (:mod:`stratus.build.dockerfiles`) and the
Terraform (:mod:`stratus.infra`): what it creates validates, runs locally, passes its tests and renders.
"""

from __future__ import annotations
