"""``stratus dev``: the local cloud's parts, started in order, reported ready, changed live, stopped together.

Order: the API ports are bound first (a port in use fails before anything starts); then the embedded AWS
(provisioned) and PostgreSQL; then the services (one warm execution environment per Lambda, so an import
error shows at start; each container started and health-checked; event sources and schedules); then the
HTTP API and the Lambda Invoke API start answering. ``.stratus/dev.json`` tells other commands
(``stratus invoke``, ``stratus trigger``, tests) where things are.

While it runs, :meth:`LocalCloud.reload_code` replaces one service's environments (new code) and
:meth:`LocalCloud.reload_manifest` applies an edited ``stratus.toml``: new resources are provisioned, new
services start and are routed, removed ones stop, changed ones are rebuilt; the rest keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from stratus.local import http_server, processes
from stratus.local.authorizer import LocalAuthorizer
from stratus.local.aws import ACCOUNT_ID, LocalAws
from stratus.local.environ import Endpoints
from stratus.local.gateway import ApiIdentity, HttpApi, Integration
from stratus.local.httpapi.cors import CorsConfig
from stratus.local.httpapi.routes import RouteTable, service_routes
from stratus.local.httpapi.throttle import TokenBucket
from stratus.local.invoke_api import InvokeApi
from stratus.local.postgres import LocalPostgres
from stratus.local.units import ServiceUnit, UnitFactory
from stratus.manifest import ManifestError, load_stack

if TYPE_CHECKING:
    import socket

    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction
    from stratus.manifest import Stack

STATE_DIR = ".stratus"


@dataclass
class DevOptions:
    port: int = 8080
    invoke_port: int | None = None  # default: port + 1
    host: str = "127.0.0.1"
    fresh: bool = False
    max_environments: int = 8
    access_log: bool = True
    reload: bool = True


@dataclass
class Readiness:
    """What started, and how long it took."""

    lines: list[tuple[str, str, str]] = field(default_factory=list)  # part, where, status
    seconds: float = 0.0


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: the local cloud owns SIGINT/SIGTERM and stops every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class LocalCloud:
    def __init__(self, stack: Stack, options: DevOptions, sink: LogSink) -> None:
        self.stack = stack
        self.options = options
        self.sink = sink
        self.state_dir = stack.root / STATE_DIR
        self.aws = LocalAws(sink, stack.project.region, invoke_url=self.invoke_url)
        self.postgres = LocalPostgres(self.state_dir)
        self.units: dict[str, ServiceUnit] = {}
        self.functions: dict[str, LambdaFunction] = {}  # every function of every unit, shared with the Invoke API
        self.api: HttpApi | None = None
        self.server: _Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._api_server: asyncio.Server | None = None
        self._sockets: list[socket.socket] = []
        self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
        self._changes = asyncio.Lock()
        self._depths: asyncio.Task[None] | None = None
        self.api_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        for name in ("api", "aws", "postgres", *stack.services):
            sink.register(name)

    @property
    def invoke_port(self) -> int:
        return self.options.invoke_port or self.options.port + 1

    @property
    def api_url(self) -> str:
        return f"http://{self.options.host}:{self.options.port}"

    @property
    def invoke_url(self) -> str:
        return f"http://{self.options.host}:{self.invoke_port}"

    # ------------------------------------------------------------------------------------------- start

    async def start(self) -> Readiness:
        started = time.perf_counter()
        ready = Readiness()
        self._sockets = [
            processes.bind(self.options.host, self.options.port, "the HTTP API"),
            processes.bind(self.options.host, self.invoke_port, "the Lambda Invoke API"),
        ]
        self.state_dir.mkdir(exist_ok=True)
        await asyncio.gather(
            self.aws.start(), self.postgres.add(sorted(self.stack.databases), fresh=self.options.fresh)
        )
        factory = await self._factory(self.stack)
        ready.lines.append(("aws", self.aws.endpoint, self._resource_summary()))
        for name, server in self.postgres.servers.items():
            ready.lines.append((f"postgres {name}", server.url, "ready"))
        for name in self.stack.services:
            self.units[name] = factory.build(name)
        self._index_functions()
        self.api = self._http_api()
        await self._start_api()
        for lines in await asyncio.gather(*(unit.start(self.api_url) for unit in self.units.values())):
            ready.lines.extend(lines)
        if self.stack.queues:
            self._depths = asyncio.create_task(self._report_queue_depths())
        ready.lines.append(("api", self.api_url, "HTTP API (payload 2.0)"))
        ready.lines.append(("invoke", self.invoke_url, "Lambda Invoke API"))
        ready.seconds = time.perf_counter() - started
        self._write_state()
        return ready

    async def _factory(self, stack: Stack) -> UnitFactory:
        """Provision what ``stack`` declares (idempotent) and return a factory of its services' units."""
        provisioned = await self.aws.provision(stack)
        endpoints = Endpoints(
            aws=self.aws.endpoint,
            invoke=self.invoke_url,
            api=self.api_url,
            provisioned=provisioned,
            databases=self.postgres.urls(),
        )
        identity = ApiIdentity(self.api_id, ACCOUNT_ID, stack.project.region, self.options.port)
        return UnitFactory(
            stack=stack,
            endpoints=endpoints,
            identity=identity,
            sink=self.sink,
            http=self._http,
            sqs_client=lambda: self.aws.client("sqs"),
            max_environments=self.options.max_environments,
        )

    def _resource_summary(self) -> str:
        counts = [
            (len(self.stack.queues), "queue"),
            (len(self.stack.tables), "table"),
            (len(self.stack.buckets), "bucket"),
        ]
        parts = [f"{n} {what}{'s' * (n != 1)}" for n, what in counts if n]
        return ", ".join(parts) or "no resources declared"

    def _index_functions(self) -> None:
        self.functions.clear()
        for unit in self.units.values():
            self.functions.update(unit.functions)

    def _routes(self) -> tuple[RouteTable, dict[str, Integration]]:
        routes = []
        for name, unit in self.units.items():
            routes.extend(service_routes(name, unit.spec.path))
        return RouteTable(routes), {name: unit.integration for name, unit in self.units.items()}

    def _authorization(self) -> tuple[dict[str, str], LocalAuthorizer | None]:
        """Which routes need which authorization, and the authorizer that decides."""
        modes: dict[str, str] = {n: u.spec.auth for n, u in self.units.items() if u.spec.auth != "none"}
        config = self.stack.authorizer
        unit = self.units.get(config.service) if config is not None else None
        function = unit.functions.get(f"{config.service}/authorizer") if unit and config else None
        if config is None or function is None:
            return modes, None
        identity = ApiIdentity(self.api_id, ACCOUNT_ID, self.stack.project.region, self.options.port)
        authorizer = LocalAuthorizer(
            function, identity, ttl=config.ttl, identity_sources=list(config.identity_sources), sink=self.sink
        )
        return modes, authorizer

    def _http_api(self) -> HttpApi:
        api = self.stack.api
        cors = None
        if api.cors is not None:
            c = api.cors
            cors = CorsConfig(
                allow_origins=c.allow_origins,
                allow_methods=c.allow_methods,
                allow_headers=c.allow_headers,
                expose_headers=c.expose_headers,
                max_age=c.max_age,
                allow_credentials=c.allow_credentials,
            )
        throttle = TokenBucket(api.throttle.rate, api.throttle.burst) if api.throttle else None
        routes, integrations = self._routes()
        modes, authorizer = self._authorization()
        return HttpApi(
            routes=routes,
            integrations=integrations,
            sink=self.sink,
            cors=cors,
            throttle=throttle,
            access_log=self.options.access_log,
            auth_modes=modes,
            authorizer=authorizer,
        )

    async def _start_api(self) -> None:
        assert self.api is not None
        api_socket, invoke_socket = self._sockets
        self._api_server = await http_server.serve(self.api, api_socket)
        invoke = InvokeApi(self.functions, self.sink, self.stack.project.region, ACCOUNT_ID)
        config = uvicorn.Config(
            invoke,
            lifespan="off",
            access_log=False,
            log_level="warning",
            server_header=False,
            proxy_headers=False,
            http="httptools",
            timeout_keep_alive=30,
        )
        self.server = _Server(config)
        self._serve_task = asyncio.create_task(self.server.serve(sockets=[invoke_socket]))
        while not self.server.started:
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0.01)

    def _write_state(self) -> None:
        rules = {key: rule.schedule.expression for unit in self.units.values() for key, rule in unit.rules.items()}
        containers = {name: u.container.url for name, u in self.units.items() if u.container is not None}
        state = {
            "pid": os.getpid(),
            "env": self.stack.env,
            "api": self.api_url,
            "invoke": self.invoke_url,
            "aws": self.aws.endpoint,
            "databases": self.postgres.urls(),
            "functions": {key: f.config.name for key, f in self.functions.items()},
            "handlers": {key: f.config.handler for key, f in self.functions.items()},
            "schedules": rules,
            "containers": containers,
        }
        (self.state_dir / "dev.json").write_text(json.dumps(state, indent=2) + "\n")

    async def _report_queue_depths(self, every: float = 2.0) -> None:
        """Log each queue's depth (waiting, in flight, dead-lettered) whenever it changes."""
        client = self.aws.client("sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        last = ""

        def depth(name: str) -> str:
            url = client.get_queue_url(QueueName=self.stack.resource_name(name))["QueueUrl"]
            dlq = client.get_queue_url(QueueName=self.stack.resource_name(name) + "-dlq")["QueueUrl"]
            main = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            dead = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=names[:1])["Attributes"]
            return f"{name}: {main[names[0]]} waiting, {main[names[1]]} in flight, {dead[names[0]]} in its DLQ"

        self.sink.register("queues")
        while True:
            await asyncio.sleep(every)
            try:
                line = " · ".join([await asyncio.to_thread(depth, q) for q in sorted(self.stack.queues)])
            except Exception:  # noqa: S112 - a queue being reprovisioned, or the local AWS stopping
                continue
            if line != last:
                self.sink.write("queues", line)
                last = line

    # ---------------------------------------------------------------------------------------- changes

    async def reload_code(self, services: list[str]) -> None:
        """Replace the environments of ``services`` (their code changed); the others are untouched."""
        async with self._changes:
            for name in services:
                unit = self.units.get(name)
                if unit is not None:
                    self.sink.write("stratus", f"{name}: code changed, reloading")
                    await unit.reload()

    async def reload_manifest(self) -> bool:
        """Apply an edited stratus.toml; an invalid one is reported and changes nothing."""
        async with self._changes:
            try:
                stack = load_stack(self.stack.root, env=self.stack.env)
            except ManifestError as exc:
                for problem in exc.problems:
                    self.sink.write("stratus", f"stratus.toml not applied: {problem.render()}")
                return False
            await self.postgres.add(sorted(set(stack.databases) - set(self.postgres.servers)), fresh=False)
            factory = await self._factory(stack)
            old, self.stack = self.stack, stack
            for name in [n for n in self.units if n not in stack.services or self._changed(old, stack, n)]:
                self.sink.write("stratus", f"{name}: {'changed' if name in stack.services else 'removed'}")
                await self.units.pop(name).stop()
            started = [name for name in stack.services if name not in self.units]
            for name in started:
                self.units[name] = factory.build(name)
            self._index_functions()
            assert self.api is not None
            self.api.routes, self.api.integrations = self._routes()
            self.api.auth_modes, self.api.authorizer = self._authorization()
            for lines in await asyncio.gather(*(self.units[name].start(self.api_url) for name in started)):
                for part, where, status in lines:
                    self.sink.write("stratus", f"{part}: {where} ({status})")
            self._write_state()
            return True

    @staticmethod
    def _changed(old: Stack, new: Stack, name: str) -> bool:
        return (
            old.services.get(name) != new.services.get(name)
            or old.bindings(name) != new.bindings(name)
            or old.project != new.project
        )

    # -------------------------------------------------------------------------------------------- stop

    async def stop(self) -> None:
        """Stop every part; safe to call after a partial start."""
        if self._depths is not None:
            self._depths.cancel()
        if self._api_server is not None:
            self._api_server.close()
        if self.server is not None:
            self.server.should_exit = True
        if self._serve_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._serve_task, 5)
        for sock in self._sockets:
            sock.close()
        await asyncio.gather(*(unit.stop() for unit in self.units.values()), return_exceptions=True)
        await self._http.aclose()
        await asyncio.gather(self.aws.stop(), self.postgres.stop(), return_exceptions=True)
        with contextlib.suppress(OSError):
            (self.state_dir / "dev.json").unlink()


async def run(stack: Stack, options: DevOptions, sink: LogSink, on_ready: Any) -> None:
    """Start the local cloud, call ``on_ready(cloud, readiness)``, and run until SIGINT or SIGTERM."""
    from stratus.local.reloader import Reloader

    cloud = LocalCloud(stack, options, sink)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloader: Reloader | None = None
    try:
        starting = asyncio.create_task(cloud.start())
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            on_ready(cloud, starting.result())
            if options.reload:
                reloader = Reloader(cloud)
                reloader.start()
            await stopped
        else:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    finally:
        sink.write("stratus", "stopping…")
        if reloader is not None:
            await reloader.stop()
        await cloud.stop()
        sink.flush()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
