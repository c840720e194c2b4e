"""What a player id is, with the standard library only: the stats consumer validates ids without importing the
API's models (:mod:`players.models` builds every request and response model when imported)."""

from __future__ import annotations

__all__ = ["PLAYER_ID_PATTERN"]

PLAYER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
"""A player id (the idp's ``sub``, a uuid): 1 to 128 letters, digits and ``. _ : @ -``, the first alphanumeric."""
