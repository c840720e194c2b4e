"""A service of the stack as the local cloud runs it: its Lambda functions (HTTP, consumers, schedules) or
its container, its event sources, and its API integration. Units are built, started, reloaded (new code)
and stopped one service at a time, so a change to one service leaves the others running.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stratus import naming
from stratus.local.aws import ACCOUNT_ID
from stratus.local.containers import ContainerProcess
from stratus.local.environ import Endpoints, lambda_environ, service_environ
from stratus.local.gateway import ApiIdentity, HttpProxyIntegration, Integration, LambdaIntegration
from stratus.local.runtime.function import FunctionConfig, LambdaFunction
from stratus.local.scheduler import ScheduledRule
from stratus.local.sqs_source import SqsEventSource
from stratus.manifest import ContainerService, LambdaService

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from stratus.local.logs import LogSink
    from stratus.manifest import Service, Stack

READY_TIMEOUT_S = 60.0
Line = tuple[str, str, str]  # readiness: part, where, status


@dataclass
class ServiceUnit:
    name: str
    spec: Service
    integration: Integration
    functions: dict[str, LambdaFunction] = field(default_factory=dict)  # "worker", "worker/jobs", ...
    container: ContainerProcess | None = None
    sources: dict[str, SqsEventSource] = field(default_factory=dict)
    rules: dict[str, ScheduledRule] = field(default_factory=dict)

    async def start(self, api_url: str) -> list[Line]:
        """Warm the HTTP function (so an import error shows now) or start and health-check the container."""
        where = f"{api_url}{self.spec.path}"
        lines: list[Line] = []
        if self.container is not None:
            self.container.start()
            ok = await self.container.wait_healthy(READY_TIMEOUT_S)
            status = "healthy" if ok else f"NOT HEALTHY ({self.container.restarts} restarts; see its log)"
            lines.append((self.name, where, f"{self.spec.kind}, {status}"))
        else:
            ok = await self.functions[self.name].warm()
            status = "warm" if ok else "INIT FAILED: requests get 500 until the code is fixed"
            lines.append((self.name, where, f"lambda, {status}"))
        for key, source in self.sources.items():
            source.start()
            lines.append(
                (key, source.queue_url.rsplit("/", 1)[-1], f"SQS event source -> {source.function.config.handler}")
            )
        for key, rule in self.rules.items():
            rule.start()
            lines.append((key, rule.schedule.expression, f"schedule -> {rule.function.config.handler}"))
        return lines

    async def reload(self) -> None:
        """New code: the next invocation cold-starts on it; a container restarts and is health-checked."""
        await asyncio.gather(*(f.reload() for f in self.functions.values()))
        if self.container is not None:
            await self.container.restart()

    async def stop(self) -> None:
        await asyncio.gather(
            *(s.stop() for s in self.sources.values()), *(r.stop() for r in self.rules.values()), return_exceptions=True
        )
        await asyncio.gather(*(f.close() for f in self.functions.values()), return_exceptions=True)
        if self.container is not None:
            await self.container.stop()


class UnitFactory:
    """Builds the unit of one service of a stack."""

    def __init__(
        self,
        *,
        stack: Stack,
        endpoints: Endpoints,
        identity: ApiIdentity,
        sink: LogSink,
        http: httpx.AsyncClient,
        sqs_client: Callable[[], object],
        max_environments: int,
    ) -> None:
        self.stack = stack
        self.endpoints = endpoints
        self.identity = identity
        self.sink = sink
        self.http = http
        self.sqs_client = sqs_client
        self.max_environments = max_environments

    def build(self, name: str) -> ServiceUnit:
        svc = self.stack.services[name]
        self.sink.register(name)
        if isinstance(svc, ContainerService):
            container = ContainerProcess(
                name,
                command=self.stack.command(name),
                cwd=self.stack.service_dir(name),
                environ=service_environ(self.stack, name, self.endpoints),
                health=svc.health,
                sink=self.sink,
            )
            integration = HttpProxyIntegration(container, svc.path, svc.integration_timeout, self.http)
            return ServiceUnit(name, svc, integration, container=container)
        assert isinstance(svc, LambdaService)
        http = self._function(name, svc, self.stack.resource_name(name), self.stack.handler(name), name)
        unit = ServiceUnit(
            name, svc, LambdaIntegration(http, self.identity, svc.integration_timeout, self.sink), {name: http}
        )
        self._add_consumers(unit, name, svc)
        self._add_schedules(unit, name, svc)
        self._add_notified(unit, name, svc)
        authorizer = self.stack.authorizer
        if authorizer is not None and authorizer.service == name:
            key = f"{name}/authorizer"
            function_name = f"{self.stack.resource_name(name)}-authorizer"
            unit.functions[key] = self._function(name, svc, function_name, authorizer.handler, key)
        return unit

    def _add_notified(self, unit: ServiceUnit, name: str, svc: LambdaService) -> None:
        """One function per bucket whose notifications invoke this service (S3 invokes it asynchronously)."""
        project, env = self.stack.project.name, self.stack.env
        for bucket_name, bucket in self.stack.buckets.items():
            for notification in bucket.notify:
                if notification.service != name:
                    continue
                key = f"{name}/{bucket_name}"
                function_name = naming.notification_function_name(project, env, name, bucket_name)
                unit.functions[key] = self._function(name, svc, function_name, notification.handler, key)

    def _add_consumers(self, unit: ServiceUnit, name: str, svc: LambdaService) -> None:
        project, env, provisioned = self.stack.project.name, self.stack.env, self.endpoints.provisioned
        for consumer in svc.consumes:
            key = f"{name}/{consumer.queue}"
            function_name = naming.consumer_function_name(project, env, name, consumer.queue)
            function = unit.functions[key] = self._function(name, svc, function_name, consumer.handler, key)
            unit.sources[key] = SqsEventSource(
                client_factory=self.sqs_client,
                queue_url=provisioned.queue_urls[consumer.queue],
                queue_arn=provisioned.queue_arns[consumer.queue],
                region=self.stack.project.region,
                function=function,
                batch_size=consumer.batch_size,
                batching_window=consumer.batching_window,
                visibility_timeout=self.stack.queues[consumer.queue].visibility_timeout,
                max_pollers=function.max_environments,
                sink=self.sink,
            )

    def _add_schedules(self, unit: ServiceUnit, name: str, svc: LambdaService) -> None:
        project, env = self.stack.project.name, self.stack.env
        for schedule in svc.schedules:
            key = f"{name}/{schedule.key}"
            function_name = naming.schedule_function_name(project, env, name, schedule.key)
            function = unit.functions[key] = self._function(name, svc, function_name, schedule.handler, key)
            unit.rules[key] = ScheduledRule(
                rule=function_name,
                expression=schedule.expression,
                function=function,
                region=self.stack.project.region,
                account_id=ACCOUNT_ID,
                sink=self.sink,
            )

    def _function(self, name: str, svc: LambdaService, function_name: str, handler: str, source: str) -> LambdaFunction:
        self.sink.register(source)
        task_root = self.stack.service_dir(name)
        environ = lambda_environ(
            self.stack,
            name,
            svc,
            function=function_name,
            handler=handler,
            task_root=task_root,
            endpoints=self.endpoints,
        )
        config = FunctionConfig(
            name=function_name,
            source=source,
            handler=handler,
            task_root=task_root,
            memory=svc.memory,
            timeout=svc.timeout,
            reserved_concurrency=svc.reserved_concurrency,
            environ=environ,
            arn=f"arn:aws:lambda:{self.stack.project.region}:{ACCOUNT_ID}:function:{function_name}",
            log_group=f"/aws/lambda/{function_name}",
        )
        return LambdaFunction(config, self.sink, max_environments=self.max_environments)
