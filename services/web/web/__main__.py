"""``python -m web``: serve the web front end (see :func:`web.main.main`)."""

from __future__ import annotations

from web.main import main

main()
