"""Event and response shapes, one adapter per event source.

Shared by the local cloud, ``stratus events`` and the tests, so that the shape of an
event is written down exactly once.
"""

from __future__ import annotations
