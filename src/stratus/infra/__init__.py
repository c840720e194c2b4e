"""Terraform for the whole stack from stratus.toml (``stratus infra``), and its static checks.

The pipeline: the manifest model (one :class:`~stratus.manifest.Stack` per environment) ->
:func:`~stratus.infra.render.render` (pure: ``{path: text}`` from each environment's ``stack.plan``, templates
in ``templates/``) -> :func:`~stratus.infra.writer.write` (only files with the generated header) ->
:func:`~stratus.infra.check.check` (one HCL parser, every reference resolved, checkov).

Reads the manifest model only; never imports ``stratus.local`` or ``stratus.build``.
"""

from __future__ import annotations

from stratus.infra.render import render
from stratus.infra.writer import WriteReport, write

__all__ = ["WriteReport", "render", "write"]
