"""``stratus dev``: the local cloud's parts, started in order, reported ready, changed live, stopped together.

Order: the API ports are bound first (a port in use fails before anything starts); then the embedded AWS
(provisioned) and PostgreSQL; then the services (one warm execution environment per Lambda, so an import
error shows at start; each container started and health-checked; event sources and schedules); then the
HTTP API and the Lambda Invoke API start answering. ``.stratus/dev.json`` tells other commands
(``stratus invoke``, ``stratus trigger``, tests) where things are; one stack runs per project
(:mod:`stratus.local.state`). What runs is the plan (``stack.plan``), as the Terraform declares it.

While it runs, :meth:`LocalCloud.reload_code` replaces one service's environments (new code) and
:meth:`LocalCloud.reload_manifest` applies an edited ``stratus.toml``: new resources are provisioned, new
services start and are routed, removed ones stop, changed ones are rebuilt; the rest keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from stratus import naming, paths
from stratus.local import http_server, processes, roles
from stratus.local.authorizer import LocalAuthorizer
from stratus.local.aws import LocalAws, Provisioned
from stratus.local.console.recorder import Recorder
from stratus.local.environ import Endpoints
from stratus.local.gateway import ApiIdentity, HttpApi, Integration
from stratus.local.httpapi.cors import CorsConfig
from stratus.local.httpapi.routes import RouteTable
from stratus.local.httpapi.throttle import TokenBucket
from stratus.local.invoke_api import IamCheck, InvokeApi
from stratus.local.postgres import LocalPostgres
from stratus.local.runtime.budget import EnvironmentBudget
from stratus.local.secrets import local_values
from stratus.local.state import DevLock, DevState
from stratus.local.units import ServiceUnit, UnitFactory
from stratus.manifest import ManifestError, load_stack

if TYPE_CHECKING:
    import socket

    from stratus.local.console.server import Console
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction
    from stratus.manifest import Stack


@dataclass
class DevOptions:
    port: int = 8080
    invoke_port: int | None = None  # default: port + 1
    host: str = "127.0.0.1"
    fresh: bool = False
    max_environments: int = 8
    environments: int | None = None  # the stack's budget (stratus.local.runtime.budget); None: its default
    access_log: bool = True
    reload: bool = True
    iam: bool = True  # enforce IAM: each service runs as its role, undeclared access is AccessDenied
    console: bool = True  # the local console (``stratus.local.console``), always on 127.0.0.1
    console_port: int | None = None  # default: port + 2


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
        self.lock = DevLock(stack.root)
        self.aws = LocalAws(
            sink, stack.project.region, invoke_url=self.invoke_url, iam=options.iam, on_denied=self._denied
        )
        self._provisioned: Provisioned | None = None
        self.postgres = LocalPostgres(paths.postgres_dir(stack.root))
        self.units: dict[str, ServiceUnit] = {}
        self.functions: dict[str, LambdaFunction] = {}  # every function of every unit, shared with the Invoke API
        self.budget = EnvironmentBudget(options.environments)  # every function's environments, stack-wide
        self.api: HttpApi | None = None
        self.server: _Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self.invoke_api: InvokeApi | None = None
        self.recorder: Recorder | None = None
        self.console: Console | None = None
        self._console_server: _Server | None = None
        self._console_task: asyncio.Task[None] | None = None
        self.started_at = time.time()
        self._api_server: asyncio.Server | None = None
        self._sockets: list[socket.socket] = []
        self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
        self._changes = asyncio.Lock()
        self._depths: asyncio.Task[None] | None = None
        self.api_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        for name in ("api", "aws", "postgres", *stack.services):
            sink.register(name)
        if options.console:  # it keeps the recent requests and log lines, so it can show what already happened
            self.recorder = Recorder()
            sink.tap = self.recorder.log

    @property
    def invoke_port(self) -> int:
        return self.options.invoke_port or self.options.port + 1

    @property
    def api_url(self) -> str:
        return f"http://{self.options.host}:{self.options.port}"

    @property
    def invoke_url(self) -> str:
        return f"http://{self.options.host}:{self.invoke_port}"

    @property
    def console_port(self) -> int:
        return self.options.console_port or self.options.port + 2

    @property
    def console_url(self) -> str | None:
        return f"http://127.0.0.1:{self.console_port}" if self.options.console else None

    @property
    def provisioned(self) -> Provisioned | None:
        """What the local AWS holds for the stack, once provisioned."""
        return self._provisioned

    # ------------------------------------------------------------------------------------------- start

    async def start(self) -> Readiness:
        started = time.perf_counter()
        ready = Readiness()
        self.lock.acquire()
        self._sockets = [
            processes.bind(self.options.host, self.options.port, "the HTTP API"),
            processes.bind(self.options.host, self.invoke_port, "the Lambda Invoke API", "--invoke-port"),
        ]
        if self.options.console:  # never on another interface: it shows events that hold tokens
            console = processes.bind("127.0.0.1", self.console_port, "the local console", "--console-port")
            self._sockets.append(console)
        await asyncio.gather(self.aws.start(), self.postgres.add(_databases(self.stack), fresh=self.options.fresh))
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
        for name in self.stack.services:
            ready.lines.extend(await self._migrate(name))
        if self.stack.queues:
            self._depths = asyncio.create_task(self._report_queue_depths())
        ready.lines.append(("api", self.api_url, "HTTP API (payload 2.0)"))
        ready.lines.append(("invoke", self.invoke_url, "Lambda Invoke API"))
        if self.console_url is not None:
            ready.lines.append(("console", self.console_url, "local console: requests, functions, queues, logs"))
        ready.seconds = time.perf_counter() - started
        self._write_state()
        return ready

    async def _factory(self, stack: Stack) -> UnitFactory:
        """Provision what ``stack`` declares (idempotent) and return a factory of its services' units."""
        values = local_values(stack.root, dict(stack.plan.secrets))
        provisioned = await self.aws.provision(stack, self.postgres.urls(), values)
        self._provisioned = provisioned
        endpoints = Endpoints(
            aws=self.aws.endpoint,
            invoke=self.invoke_url,
            api=self.api_url,
            provisioned=provisioned,
            databases=self.postgres.urls(),
        )
        return UnitFactory(
            stack=stack,
            endpoints=endpoints,
            identity=self._identity(stack),
            sink=self.sink,
            http=self._http,
            sqs_client=lambda session: self.aws.client("sqs", provisioned.credentials.get(session)),
            max_environments=self.options.max_environments,
            budget=self.budget,
        )

    def _identity(self, stack: Stack) -> ApiIdentity:
        return ApiIdentity(self.api_id, naming.LOCAL_ACCOUNT_ID, stack.project.region, self.options.port)

    def _resource_summary(self) -> str:
        counts = [
            (len(self.stack.queues), "queue"),
            (len(self.stack.tables), "table"),
            (len(self.stack.buckets), "bucket"),
        ]
        parts = [f"{n} {what}{'s' * (n != 1)}" for n, what in counts if n]
        iam = "IAM enforced (each service as its role)" if self.options.iam else "IAM off (--no-iam)"
        return ", ".join([*parts, iam]) if parts else f"no resources declared, {iam}"

    def _denied(self, denied: dict[str, str]) -> None:
        """IAM refused a call: the caller's log says which ``uses`` entry would grant it."""
        stack, provisioned = self.stack, self._provisioned
        session = str(denied.get("principal", "")).rsplit("/", 1)[-1]
        for name, service in stack.plan.services.items():
            if service.role_name != denied.get("role") or provisioned is None:
                continue
            source = next((f.source for f in service.functions if f.name == session), name)
            self.sink.write(source, roles.hint(stack, provisioned, name, denied["action"], denied["resource"]))
            return
        what = f"{denied.get('action')} on {denied.get('resource')} to {denied.get('principal')}"
        self.sink.write("aws", f"IAM denied {what}")

    def _index_functions(self) -> None:
        self.functions.clear()
        for unit in self.units.values():
            self.functions.update(unit.functions)

    def _routes(self) -> tuple[RouteTable, dict[str, Integration]]:
        return RouteTable(self.stack.plan.routes), {name: unit.integration for name, unit in self.units.items()}

    def _authorizers(self) -> dict[str, LocalAuthorizer]:
        """The authorizers of the plan, each with its own identity sources and cache, sharing their function."""
        out = {}
        for key, authorizer in self.stack.plan.authorizers.items():
            source = self.stack.plan.services[authorizer.service].function(authorizer.function).source
            function = self.functions.get(source)
            if function is not None:
                out[key] = LocalAuthorizer(
                    function,
                    self._identity(self.stack),
                    name=key,
                    ttl=authorizer.ttl,
                    identity_sources=list(authorizer.identity_sources),
                    sink=self.sink,
                )
        return out

    def _http_api(self) -> HttpApi:
        api = self.stack.api
        cors = None
        if api.cors is not None:
            c = api.cors
            cors = CorsConfig(
                allow_origins=self.stack.cors_origins,
                allow_methods=c.allow_methods,
                allow_headers=c.allow_headers,
                expose_headers=c.expose_headers,
                max_age=c.max_age,
                allow_credentials=c.allow_credentials,
            )
        throttle = TokenBucket(api.throttle.rate, api.throttle.burst) if api.throttle else None
        routes, integrations = self._routes()
        return HttpApi(
            routes=routes,
            integrations=integrations,
            sink=self.sink,
            cors=cors,
            throttle=throttle,
            access_log=self.options.access_log,
            authorizers=self._authorizers(),
            recorder=self.recorder,
            console_url=self.console_url,
        )

    async def _start_api(self) -> None:
        assert self.api is not None
        api_socket, invoke_socket, *console_socket = self._sockets
        self._api_server = await http_server.serve(self.api, api_socket)
        check = IamCheck(self.aws.endpoint, self._http) if self.options.iam else None
        invoke = InvokeApi(
            self.functions, self.sink, self.stack.project.region, naming.LOCAL_ACCOUNT_ID, authorize=check,
            plan=lambda: self.stack.plan,
        )  # fmt: skip
        self.invoke_api = invoke
        self.server, self._serve_task = await _serve_asgi(invoke, invoke_socket)
        if console_socket and self.recorder is not None:
            from stratus.local.console.server import Console  # starlette: imported only when the console runs

            self.console = Console(self, self.recorder, port=self.console_port)
            self._console_server, self._console_task = await _serve_asgi(
                self.console.app, console_socket[0], graceful_s=2
            )

    def _write_state(self) -> None:
        DevState(
            pid=os.getpid(),
            env=self.stack.env,
            region=self.stack.project.region,
            api=self.api_url,
            invoke=self.invoke_url,
            aws=self.aws.endpoint,
            databases=self.postgres.urls(),
            functions={key: f.config.name for key, f in self.functions.items()},
            handlers={key: f.config.handler for key, f in self.functions.items()},
            schedules={key: rule.schedule.expression for u in self.units.values() for key, rule in u.rules.items()},
            containers={name: u.container.url for name, u in self.units.items() if u.container is not None},
            console=self.console_url,
        ).write(self.stack.root)

    async def _report_queue_depths(self, every: float = 2.0) -> None:
        """Log each queue's depth (waiting, in flight, dead-lettered) whenever it changes."""
        client = self.aws.client("sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        last = ""

        def depth(name: str) -> str:
            queue = self.stack.plan.queues[name]
            url = client.get_queue_url(QueueName=queue.aws_name)["QueueUrl"]
            dlq = client.get_queue_url(QueueName=queue.dlq_name)["QueueUrl"]
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

    async def _migrate(self, service: str) -> list[tuple[str, str, str]]:
        """Invoke the service's migrations function (``migrations`` in stratus.toml), as ``stratus deploy`` does in
        AWS after ``terraform apply``: before the stack reports ready, and again when the service's code changes."""
        lines = []
        for fn in self.stack.plan.services[service].functions:
            if fn.kind != "migrate":
                continue
            result = await self.functions[fn.source].invoke(b"{}")
            text = result.payload.decode(errors="replace")
            if result.function_error:
                self.sink.write("stratus", f"{fn.source}: migrations FAILED: {text}")
                lines.append((fn.source, fn.handler, f"migrations failed ({result.duration_ms:.0f} ms): see its log"))
            else:
                self.sink.write("stratus", f"{fn.source}: migrations applied: {text}")
                lines.append((fn.source, fn.handler, f"migrations applied ({result.duration_ms:.0f} ms)"))
        return lines

    async def reload_code(self, services: list[str]) -> None:
        """Replace the environments of ``services`` (their code changed); the others are untouched."""
        async with self._changes:
            for name in services:
                unit = self.units.get(name)
                if unit is not None:
                    self.sink.write("stratus", f"{name}: code changed, reloading")
                    await unit.reload()
                    await self._migrate(name)

    async def reload_manifest(self) -> bool:
        """Apply an edited stratus.toml; an invalid one is reported and changes nothing."""
        async with self._changes:
            try:
                stack = load_stack(self.stack.root, env=self.stack.env)
            except ManifestError as exc:
                for problem in exc.problems:
                    self.sink.write("stratus", f"stratus.toml not applied: {problem.render()}")
                return False
            await self.postgres.add(_databases(stack), fresh=False)
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
            self.api.authorizers = self._authorizers()
            for lines in await asyncio.gather(*(self.units[name].start(self.api_url) for name in started)):
                for part, where, status in lines:
                    self.sink.write("stratus", f"{part}: {where} ({status})")
            self._write_state()
            return True

    @staticmethod
    def _changed(old: Stack, new: Stack, name: str) -> bool:
        """Whether service ``name`` must be rebuilt: anything of its plan differs (functions, environment,
        grants, triggers), or the project does."""
        return old.plan.services.get(name) != new.plan.services.get(name) or old.project != new.project

    # -------------------------------------------------------------------------------------------- stop

    async def stop(self) -> None:
        """Stop every part; safe to call after a partial start."""
        if self._depths is not None:
            self._depths.cancel()
        if self._api_server is not None:
            self._api_server.close()
        if self.server is not None:
            self.server.should_exit = True
        if self.console is not None and self._console_server is not None:
            self.console.close()  # its live streams end, then its server
            self._console_server.should_exit = True
        for task in (self._serve_task, self._console_task):
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 5)
        if self.invoke_api is not None:  # queued asynchronous invocations and their pending retries
            await self.invoke_api.close()
        for sock in self._sockets:
            sock.close()
        await asyncio.gather(*(unit.stop() for unit in self.units.values()), return_exceptions=True)
        await self._http.aclose()
        await asyncio.gather(self.aws.stop(), self.postgres.stop(), return_exceptions=True)
        if self.lock.held:
            DevState.remove(self.stack.root)
        self.lock.release()


async def _serve_asgi(
    app: Any, sock: socket.socket, *, graceful_s: int | None = None
) -> tuple[_Server, asyncio.Task[None]]:
    """Serve an ASGI app (the Invoke API, the console) with uvicorn on a bound socket; return once it listens
    (``graceful_s``: how long a stop waits for open connections, such as the console's live streams)."""
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        http="httptools",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=graceful_s,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


def _databases(stack: Stack) -> dict[str, str]:
    """Manifest name -> the database each server holds."""
    return {name: database.db_name for name, database in sorted(stack.plan.databases.items())}
