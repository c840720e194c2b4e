"""``stratus dev``: the local cloud's parts, started in order, reported ready, and all stopped together.

Order: the API ports are bound first (a port in use fails before anything starts); then the embedded AWS
(provisioned) and PostgreSQL; then the services (one warm execution environment per Lambda, so an import
error shows at start; each container started and health-checked); then the HTTP API and the Lambda Invoke
API start answering. ``.stratus/dev.json`` tells other commands (``stratus invoke``, tests) where things are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from stratus import naming
from stratus.local import processes
from stratus.local.aws import ACCOUNT_ID, LocalAws, Provisioned
from stratus.local.containers import ContainerProcess
from stratus.local.environ import Endpoints, lambda_environ, service_environ
from stratus.local.gateway import ApiIdentity, HttpApi, HttpProxyIntegration, Integration, LambdaIntegration
from stratus.local.httpapi.cors import CorsConfig
from stratus.local.httpapi.routes import RouteTable, service_routes
from stratus.local.httpapi.throttle import TokenBucket
from stratus.local.invoke_api import InvokeApi
from stratus.local.postgres import LocalPostgres
from stratus.local.runtime.function import FunctionConfig, LambdaFunction
from stratus.local.scheduler import ScheduledRule
from stratus.local.sqs_source import SqsEventSource

if TYPE_CHECKING:
    from stratus.local.gateway import Receive, Scope, Send
    from stratus.local.logs import LogSink
    from stratus.manifest import LambdaService, Stack

STATE_DIR = ".stratus"
READY_TIMEOUT_S = 60.0


@dataclass
class DevOptions:
    port: int = 8080
    invoke_port: int | None = None  # default: port + 1
    host: str = "127.0.0.1"
    fresh: bool = False
    max_environments: int = 8
    access_log: bool = True


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


class _PortDispatch:
    """One uvicorn server, two APIs: requests are routed by the local port they arrived on."""

    def __init__(self, apps: dict[int, Any]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await self.apps[scope["server"][1]](scope, receive, send)


class LocalCloud:
    def __init__(self, stack: Stack, options: DevOptions, sink: LogSink) -> None:
        self.stack = stack
        self.options = options
        self.sink = sink
        self.state_dir = stack.root / STATE_DIR
        self.aws = LocalAws(sink, stack.project.region)
        self.postgres = LocalPostgres(self.state_dir, sorted(stack.databases))
        self.functions: dict[str, LambdaFunction] = {}
        self.containers: dict[str, ContainerProcess] = {}
        self.sources: dict[str, SqsEventSource] = {}
        self.rules: dict[str, ScheduledRule] = {}
        self.server: _Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._sockets: list[socket.socket] = []
        self._http: httpx.AsyncClient | None = None
        self.api_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        for name in ("api", "aws", "postgres", *stack.services):
            sink.register(name)
        for name, svc in stack.lambdas():
            for consumer in svc.consumes:
                sink.register(f"{name}/{consumer.queue}")
            for schedule in svc.schedules:
                sink.register(f"{name}/{schedule.key}")

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
        provisioned, _ = await asyncio.gather(self._start_aws(), self.postgres.start(fresh=self.options.fresh))
        ready.lines.append(("aws", self.aws.endpoint, self._resource_summary()))
        for name, server in self.postgres.servers.items():
            ready.lines.append((f"postgres {name}", server.url, "ready"))
        endpoints = Endpoints(
            aws=self.aws.endpoint,
            invoke=self.invoke_url,
            api=self.api_url,
            provisioned=provisioned,
            databases=self.postgres.urls(),
        )
        self._create_services(endpoints)
        await self._start_api()
        ready.lines.extend(await self._warm_services())
        ready.lines.append(("api", self.api_url, "HTTP API (payload 2.0)"))
        ready.lines.append(("invoke", self.invoke_url, "Lambda Invoke API"))
        ready.seconds = time.perf_counter() - started
        self._write_state()
        return ready

    async def _start_aws(self) -> Provisioned:
        await self.aws.start()
        return await self.aws.provision(self.stack)

    def _resource_summary(self) -> str:
        counts = [
            (len(self.stack.queues), "queue"),
            (len(self.stack.tables), "table"),
            (len(self.stack.buckets), "bucket"),
        ]
        parts = [f"{n} {what}{'s' * (n != 1)}" for n, what in counts if n]
        return ", ".join(parts) or "no resources declared"

    def _function(
        self, name: str, svc: LambdaService, *, function_name: str, handler: str, source: str, endpoints: Endpoints
    ) -> LambdaFunction:
        stack = self.stack
        task_root = stack.service_dir(name)
        config = FunctionConfig(
            name=function_name,
            source=source,
            handler=handler,
            task_root=task_root,
            memory=svc.memory,
            timeout=svc.timeout,
            reserved_concurrency=svc.reserved_concurrency,
            environ=lambda_environ(
                stack, name, svc, function=function_name, handler=handler, task_root=task_root, endpoints=endpoints
            ),
            arn=f"arn:aws:lambda:{stack.project.region}:{ACCOUNT_ID}:function:{function_name}",
            log_group=f"/aws/lambda/{function_name}",
        )
        return LambdaFunction(config, self.sink, max_environments=self.options.max_environments)

    def _create_services(self, endpoints: Endpoints) -> None:
        stack = self.stack
        project, env = stack.project.name, stack.env
        for name, svc in stack.lambdas():
            self.functions[name] = self._function(
                name,
                svc,
                function_name=stack.resource_name(name),
                handler=stack.handler(name),
                source=name,
                endpoints=endpoints,
            )
            for consumer in svc.consumes:
                key = f"{name}/{consumer.queue}"
                function = self._function(
                    name,
                    svc,
                    function_name=naming.consumer_function_name(project, env, name, consumer.queue),
                    handler=consumer.handler,
                    source=key,
                    endpoints=endpoints,
                )
                self.functions[key] = function
                self.sources[key] = SqsEventSource(
                    client_factory=lambda: self.aws.client("sqs"),
                    queue_url=endpoints.provisioned.queue_urls[consumer.queue],
                    queue_arn=endpoints.provisioned.queue_arns[consumer.queue],
                    region=stack.project.region,
                    function=function,
                    batch_size=consumer.batch_size,
                    batching_window=consumer.batching_window,
                    visibility_timeout=stack.queues[consumer.queue].visibility_timeout,
                    max_pollers=function.max_environments,
                    sink=self.sink,
                )
            for schedule in svc.schedules:
                key = f"{name}/{schedule.key}"
                function_name = naming.schedule_function_name(project, env, name, schedule.key)
                function = self._function(
                    name, svc, function_name=function_name, handler=schedule.handler, source=key, endpoints=endpoints
                )
                self.functions[key] = function
                self.rules[key] = ScheduledRule(
                    rule=function_name,
                    expression=schedule.expression,
                    function=function,
                    region=stack.project.region,
                    account_id=ACCOUNT_ID,
                    sink=self.sink,
                )
        for name, csvc in stack.containers():
            self.containers[name] = ContainerProcess(
                name,
                command=stack.command(name),
                cwd=stack.service_dir(name),
                environ=service_environ(stack, name, endpoints),
                health=csvc.health,
                sink=self.sink,
            )

    def _http_api(self) -> HttpApi:
        stack = self.stack
        identity = ApiIdentity(self.api_id, ACCOUNT_ID, stack.project.region, self.options.port)
        self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
        integrations: dict[str, Integration] = {}
        routes = []
        for name, svc in stack.services.items():
            routes.extend(service_routes(name, svc.path))
            if name in self.functions:
                integrations[name] = LambdaIntegration(
                    self.functions[name], identity, svc.integration_timeout, self.sink
                )
            else:
                integrations[name] = HttpProxyIntegration(
                    self.containers[name], svc.path, svc.integration_timeout, self._http
                )
        api = stack.api
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
        return HttpApi(
            routes=RouteTable(routes),
            integrations=integrations,
            sink=self.sink,
            cors=cors,
            throttle=throttle,
            access_log=self.options.access_log,
        )

    async def _start_api(self) -> None:
        invoke = InvokeApi(self.functions, self.sink, self.stack.project.region, ACCOUNT_ID)
        app = _PortDispatch({self.options.port: self._http_api(), self.invoke_port: invoke})
        config = uvicorn.Config(
            app,
            lifespan="off",
            access_log=False,
            log_level="warning",
            server_header=False,
            http="httptools",
            timeout_keep_alive=30,
        )
        self.server = _Server(config)
        self._serve_task = asyncio.create_task(self.server.serve(sockets=self._sockets))
        while not self.server.started:
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0.01)

    async def _warm_services(self) -> list[tuple[str, str, str]]:
        for container in self.containers.values():
            container.start()

        async def warm(name: str, function: LambdaFunction) -> tuple[str, str, str]:
            ok = await function.warm()
            status = "warm" if ok else "INIT FAILED: requests get 500 until the code is fixed"
            return name, f"{self.api_url}{self.stack.services[name].path}", f"lambda, {status}"

        async def healthy(name: str, container: ContainerProcess) -> tuple[str, str, str]:
            ok = await container.wait_healthy(READY_TIMEOUT_S)
            status = "healthy" if ok else f"NOT HEALTHY ({container.restarts} restarts; see its log)"
            return (
                name,
                f"{self.api_url}{self.stack.services[name].path}",
                f"{self.stack.services[name].kind}, {status}",
            )

        jobs = [warm(n, f) for n, f in self.functions.items() if n in self.stack.services]
        jobs += [healthy(n, c) for n, c in self.containers.items()]
        lines = list(await asyncio.gather(*jobs))
        for key, source in self.sources.items():
            source.start()
            queue = key.split("/", 1)[1]
            lines.append(
                (key, self.stack.resource_name(queue), f"SQS event source -> {source.function.config.handler}")
            )
        return lines

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "env": self.stack.env,
            "api": self.api_url,
            "invoke": self.invoke_url,
            "aws": self.aws.endpoint,
            "databases": self.postgres.urls(),
            "functions": {name: f.config.name for name, f in self.functions.items()},
            "schedules": {key: rule.schedule.expression for key, rule in self.rules.items()},
            "containers": {name: c.url for name, c in self.containers.items()},
        }
        (self.state_dir / "dev.json").write_text(json.dumps(state, indent=2) + "\n")

    # -------------------------------------------------------------------------------------------- stop

    async def stop(self) -> None:
        """Stop every part; safe to call after a partial start."""
        if self.server is not None:
            self.server.should_exit = True
        if self._serve_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._serve_task, 5)
        for sock in self._sockets:
            sock.close()
        await asyncio.gather(
            *(s.stop() for s in self.sources.values()), *(r.stop() for r in self.rules.values()), return_exceptions=True
        )
        await asyncio.gather(
            *(f.close() for f in self.functions.values()),
            *(c.stop() for c in self.containers.values()),
            return_exceptions=True,
        )
        if self._http is not None:
            await self._http.aclose()
        await asyncio.gather(self.aws.stop(), self.postgres.stop(), return_exceptions=True)
        with contextlib.suppress(OSError):
            (self.state_dir / "dev.json").unlink()


async def run(stack: Stack, options: DevOptions, sink: LogSink, on_ready: Any) -> None:
    """Start the local cloud, call ``on_ready(readiness)``, and run until SIGINT or SIGTERM."""
    cloud = LocalCloud(stack, options, sink)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        starting = asyncio.create_task(cloud.start())
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            on_ready(cloud, starting.result())
            await stopped
        else:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    finally:
        sink.write("stratus", "stopping…")
        await cloud.stop()
        sink.flush()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
