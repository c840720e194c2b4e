"""Where Stratus writes in a project, in one place: ``infra/terraform`` and the ``.stratus/`` directory.

Everything under ``.stratus/`` is made by Stratus and can be deleted (``.gitignore`` lists it): the running local
cloud's state and logs, the embedded databases' data, build outputs and caches, and terraform plans.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR = ".stratus"
LOGS_DIR = "logs"
STATE_DIR_VARIABLE = "STRATUS_STATE_DIR"
"""Elsewhere than ``<project>/.stratus``: a test session's own stack keeps its state, lock and logs apart from the
developer's running ``stratus dev`` (:mod:`stratus.testing`). Relative to the project when not absolute."""
INFRA_DIR = Path("infra") / "terraform"


def infra_dir(root: Path) -> Path:
    """The Terraform ``stratus infra`` writes (generated files carry a header; others are never touched)."""
    return root / INFRA_DIR


def state_dir(root: Path) -> Path:
    return root / os.environ.get(STATE_DIR_VARIABLE, STATE_DIR)


def dev_state(root: Path) -> Path:
    """Where a running ``stratus dev`` says where it listens (``stratus invoke``, ``apikey``, ``logs``, tests)."""
    return state_dir(root) / "dev.json"


def dev_lock(root: Path) -> Path:
    """Held (``flock``) by the one ``stratus dev`` of the project while it runs."""
    return state_dir(root) / "dev.lock"


def logs_dir(root: Path) -> Path:
    """Each service's lines of the running local cloud, ``<service>.log`` (``stratus logs``)."""
    return state_dir(root) / LOGS_DIR


def postgres_dir(root: Path) -> Path:
    """The data of each embedded PostgreSQL, ``<database>/``, kept across restarts."""
    return state_dir(root) / "postgres"


def secrets_dir(root: Path) -> Path:
    """The local values of the declared secrets, ``<secret>`` (mode 0600): no value is written anywhere else."""
    return state_dir(root) / "secrets"


def build_dir(root: Path) -> Path:
    """Lambda zips, their dependency layers (``deps/``), image contexts (``images/``), runtimes (``runtime/``)."""
    return state_dir(root) / "build"


def deploy_dir(root: Path) -> Path:
    """Terraform plans of ``stratus deploy``, ``<env>.tfplan``."""
    return state_dir(root) / "deploy"
