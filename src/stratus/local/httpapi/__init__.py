"""The local HTTP API: route selection, CORS and throttling as API Gateway applies them.

The payload format 2.0 event and response live in ``stratus.events.httpapi``.
"""

from __future__ import annotations

from stratus.local.httpapi.cors import CorsConfig
from stratus.local.httpapi.routes import Route, RouteMatch, RouteTable
from stratus.local.httpapi.throttle import TokenBucket

__all__ = ["CorsConfig", "Route", "RouteMatch", "RouteTable", "TokenBucket"]
