"""Hot reload: a saved file replaces the environments of the service it belongs to; a saved stratus.toml
is applied to the running stack. Other services keep running; in-flight requests finish.

Watched: ``stratus.toml``; every service's directory (``services/`` and any ``source`` elsewhere); ``libs/``,
whose changes reload every service. Only Python sources and ``pyproject.toml`` count; tests, caches and the
local cloud's own state do not.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

from stratus.manifest import MANIFEST_NAME
from stratus.paths import STATE_DIR

if TYPE_CHECKING:
    from stratus.local.cloud import LocalCloud

IGNORED_PARTS = frozenset({"__pycache__", STATE_DIR, ".venv", ".git", "node_modules", "tests", ".pytest_cache"})


def _relevant(change: watchfiles.Change, path: str) -> bool:
    p = Path(path)
    if IGNORED_PARTS.intersection(p.parts):
        return False
    return p.suffix == ".py" or p.name in ("pyproject.toml", MANIFEST_NAME)


class Reloader:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        root = self.cloud.stack.root
        trees = {root / "services", root / "libs"}
        trees.update(self.cloud.stack.service_dir(name) for name in self.cloud.stack.services)
        existing = sorted(str(t) for t in trees if t.is_dir())
        self._tasks = [asyncio.create_task(self._watch([str(root)], recursive=False))]
        if existing:
            self._tasks.append(asyncio.create_task(self._watch(existing, recursive=True)))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(self, paths: list[str], *, recursive: bool) -> None:
        async for changes in watchfiles.awatch(
            *paths,
            watch_filter=_relevant,
            recursive=recursive,
            debounce=150,
            step=50,
            stop_event=self._stop,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            await self.apply({Path(path) for _, path in changes})

    async def apply(self, paths: set[Path]) -> None:
        root = self.cloud.stack.root
        if root / MANIFEST_NAME in paths:
            await self.cloud.reload_manifest()
            paths.discard(root / MANIFEST_NAME)
        if not paths:
            return
        stack = self.cloud.stack
        if any(_under(p, root / "libs") for p in paths):
            await self.cloud.reload_code(list(stack.services))
            return
        touched = [name for name in stack.services if any(_under(p, stack.service_dir(name)) for p in paths)]
        await self.cloud.reload_code(touched)


def _under(path: Path, tree: Path) -> bool:
    return path == tree or tree in path.parents
