"""A service of the stack as the local cloud runs it: its Lambda functions (HTTP, consumers, schedules, notified
buckets, the authorizer: ``stack.plan``) or its container, its event sources, and its API integration. Units are
built, started, reloaded (new code) and stopped one service at a time, so a change to one service leaves the
others running.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stratus import naming
from stratus.local.containers import ContainerProcess
from stratus.local.environ import Endpoints, lambda_environ, service_environ
from stratus.local.gateway import ApiIdentity, HttpProxyIntegration, Integration, LambdaIntegration
from stratus.local.runtime.function import FunctionConfig, LambdaFunction
from stratus.local.scheduler import ScheduledRule
from stratus.local.sqs_source import SqsEventSource
from stratus.manifest.plan import QueueTrigger, ScheduleTrigger

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from stratus.local.logs import LogSink
    from stratus.local.runtime.budget import EnvironmentBudget
    from stratus.manifest import Service, Stack
    from stratus.manifest.plan import Function

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
    provisioned: int | None = None  # the HTTP function's provisioned concurrency: that many warmed at start

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
            ok = await self.functions[self.name].warm(self.provisioned or 1)
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
        sqs_client: Callable[[str], object],
        max_environments: int,
        budget: EnvironmentBudget | None = None,
    ) -> None:
        self.stack = stack
        self.endpoints = endpoints
        self.identity = identity
        self.sink = sink
        self.http = http
        self.sqs_client = sqs_client
        self.max_environments = max_environments
        self.budget = budget

    def build(self, name: str) -> ServiceUnit:
        stack, service = self.stack, self.stack.plan.services[name]
        svc = stack.services[name]
        self.sink.register(name)
        if service.container is not None:
            container = ContainerProcess(
                name,
                command=list(service.container.command),
                cwd=stack.service_dir(name),
                environ=service_environ(stack, name, self.endpoints),
                health=service.container.health,
                sink=self.sink,
            )
            integration = HttpProxyIntegration(
                container, service.path, service.integration_timeout_ms / 1000, self.http
            )
            return ServiceUnit(name, svc, integration, container=container)
        functions = {function.source: self._function(function) for function in service.functions}
        http = functions[service.function("http").source]
        unit = ServiceUnit(
            name,
            svc,
            LambdaIntegration(http, self.identity, service.integration_timeout_ms / 1000, self.sink),
            functions,
        )
        unit.provisioned = service.function("http").provisioned_concurrency
        for function in service.functions:
            trigger = function.trigger
            if isinstance(trigger, QueueTrigger):
                unit.sources[function.source] = self._queue_source(functions[function.source], trigger)
            elif isinstance(trigger, ScheduleTrigger):
                unit.rules[function.source] = ScheduledRule(
                    rule=trigger.rule,
                    expression=trigger.expression,
                    function=functions[function.source],
                    region=stack.project.region,
                    account_id=naming.LOCAL_ACCOUNT_ID,
                    sink=self.sink,
                )
        return unit

    def _queue_source(self, function: LambdaFunction, trigger: QueueTrigger) -> SqsEventSource:
        provisioned = self.endpoints.provisioned
        return SqsEventSource(
            # The event source mapping polls with the function's role, as in AWS.
            client_factory=lambda: self.sqs_client(function.config.name),
            queue_url=provisioned.queue_urls[trigger.queue],
            queue_arn=provisioned.queue_arns[trigger.queue],
            region=self.stack.project.region,
            function=function,
            batch_size=trigger.batch_size,
            batching_window=trigger.batching_window,
            visibility_timeout=self.stack.plan.queues[trigger.queue].spec.visibility_timeout,
            max_pollers=function.max_environments,
            sink=self.sink,
            report_batch_item_failures=trigger.report_batch_item_failures,
        )

    def _function(self, function: Function) -> LambdaFunction:
        self.sink.register(function.source)
        task_root = self.stack.service_dir(function.service)
        config = FunctionConfig(
            name=function.name,
            source=function.source,
            handler=function.handler,
            task_root=task_root,
            memory=function.memory,
            timeout=function.timeout,
            reserved_concurrency=function.reserved_concurrency,
            environ=lambda_environ(self.stack, function, task_root=task_root, endpoints=self.endpoints),
            arn=function.arn(self.stack.project.region, naming.LOCAL_ACCOUNT_ID),
            log_group=function.log_group,
        )
        return LambdaFunction(config, self.sink, max_environments=self.max_environments, budget=self.budget)
