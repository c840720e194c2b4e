"""Testing a Stratus stack: the pytest plugin (``stratus_cloud``, ``stratus_fresh``, ``stratus_service``) and
what it is made of. See :mod:`stratus.testing.plugin`."""

from stratus.testing.cloud import Drained, StratusCloud, User

__all__ = ["Drained", "StratusCloud", "User"]
