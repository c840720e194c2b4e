"""Start `stratus dev` as a user does: the launcher of the pytest plugin (:mod:`stratus.testing.launcher`)."""

from stratus.testing.launcher import READY_MARK, DevStack, StackFailed

__all__ = ["READY_MARK", "DevStack", "StackFailed"]
