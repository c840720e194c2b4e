""":class:`Stack`: the parsed manifest seen from one environment, and its :attr:`Stack.plan`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from stratus import naming
from stratus.manifest.schema import (
    DEFAULT_AUTHORIZER,
    DEFAULT_ENV,
    MANIFEST_NAME,
    RESOURCE_TABLES,
    AlarmsConfig,
    ApiConfig,
    AuthorizerConfig,
    Bucket,
    ContainerService,
    Database,
    DomainConfig,
    EnvironmentConfig,
    LambdaService,
    Model,
    NetworkConfig,
    ProjectConfig,
    Queue,
    Secret,
    Service,
    Table,
)

if TYPE_CHECKING:
    from stratus.manifest.plan import Plan


@dataclass(frozen=True, slots=True)
class Binding:
    """A resource a service uses, with the access it declared."""

    kind: naming.ResourceKind
    name: str
    access: str


@dataclass(frozen=True)
class Stack:
    """The parsed manifest, for one environment (``env``)."""

    root: Path
    env: str
    project: ProjectConfig
    api: ApiConfig
    services: Mapping[str, Service]
    queues: Mapping[str, Queue]
    tables: Mapping[str, Table]
    buckets: Mapping[str, Bucket]
    databases: Mapping[str, Database]
    environments: Mapping[str, EnvironmentConfig]
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    models: Mapping[str, Model] = field(default_factory=dict)
    declared_network: NetworkConfig | None = None  # [network]; see `network` for this environment's
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @cached_property
    def plan(self) -> Plan:
        """Everything the back ends need, derived once: functions, routes, environments, names, grants."""
        from stratus.manifest.plan import derive

        return derive(self)

    @cached_property
    def resources(self) -> dict[str, naming.ResourceKind]:
        """Every declared resource name and its kind."""
        out: dict[str, naming.ResourceKind] = {}
        for table, (kind, _) in RESOURCE_TABLES.items():
            out.update(dict.fromkeys(getattr(self, table), kind))
        return out

    def lambdas(self) -> Iterator[tuple[str, LambdaService]]:
        for name, svc in self.services.items():
            if isinstance(svc, LambdaService):
                yield name, svc

    def containers(self) -> Iterator[tuple[str, ContainerService]]:
        for name, svc in self.services.items():
            if isinstance(svc, ContainerService):
                yield name, svc

    @property
    def prefix(self) -> str:
        """``<project>-<env>``: what every AWS name of this stack starts with."""
        return naming.prefix(self.project.name, self.env)

    def resource_name(self, name: str) -> str:
        return naming.resource_name(self.project.name, self.env, name)

    def service_dir(self, name: str) -> Path:
        svc = self.services[name]
        return self.root / (svc.source or f"services/{name}")

    def handler(self, name: str) -> str:
        """A Lambda service's HTTP handler: ``handler``, else ``<package>.main.handler``."""
        svc = self.services[name]
        assert isinstance(svc, LambdaService)
        return svc.handler or f"{naming.package_name(name)}.main.handler"

    def command(self, name: str) -> list[str]:
        """A container service's command: ``command``, else ``python -m <package>.main``."""
        svc = self.services[name]
        assert isinstance(svc, ContainerService)
        return svc.command or ["python", "-m", f"{naming.package_name(name)}.main"]

    def ships_image(self, name: str) -> bool:
        """Whether AWS gets the service's code as a container image in ECR (containers, Lambdas with
        ``package = "image"``), rather than as a zip."""
        svc = self.services[name]
        return isinstance(svc, ContainerService) or svc.package == "image"

    def bindings(self, name: str) -> list[Binding]:
        """What a service uses, plus the queues it consumes (which it must be able to receive from)."""
        svc = self.services[name]
        out = {res: Binding(self.resources[res], res, access) for res, access in svc.uses.items()}
        if isinstance(svc, LambdaService):
            for consumer in svc.consumes:
                prior = out.get(consumer.queue)
                access = "send-receive" if prior and prior.access != "receive" else "receive"
                out[consumer.queue] = Binding("queue", consumer.queue, access)
        return sorted(out.values(), key=lambda b: (b.kind, b.name))

    @property
    def environment_names(self) -> list[str]:
        """Every environment the manifest serves: dev, this one, and each of [environments.*]."""
        return sorted({DEFAULT_ENV, self.env, *self.environments})

    @property
    def log_retention_days(self) -> int:
        env = self.environments.get(self.env)
        return env.log_retention_days if env else 7

    def cors_origins_in(self, env: str) -> list[str]:
        """The origins CORS allows in ``env``: [environments.<env>] cors_origins, else [api] cors's."""
        config = self.environments.get(env)
        if config is not None and config.cors_origins is not None:
            return list(config.cors_origins)
        return list(self.api.cors.allow_origins) if self.api.cors is not None else []

    @property
    def cors_origins(self) -> list[str]:
        """The origins CORS allows in this environment."""
        return self.cors_origins_in(self.env)

    @property
    def authorizer(self) -> AuthorizerConfig | None:
        """The authorizer of protected routes: ``[api] authorizer``, else the gateway service's, if there is one."""
        if self.api.authorizer is not None:
            return self.api.authorizer
        gateway = self.services.get(DEFAULT_AUTHORIZER.service)
        return DEFAULT_AUTHORIZER if isinstance(gateway, LambdaService) else None

    @property
    def network(self) -> NetworkConfig | None:
        """The VPC of this environment: [environments.<env>.network], else [network]."""
        env = self.environments.get(self.env)
        return env.network if env is not None and env.network is not None else self.declared_network

    def in_vpc(self, name: str) -> bool:
        """Whether a service runs in the network: it uses a database, which only the VPC reaches."""
        return any(b.kind == "database" for b in self.bindings(name))

    @property
    def domain(self) -> DomainConfig | None:
        """The HTTP API's custom domain in this environment, if one is declared."""
        env = self.environments.get(self.env)
        return env.domain if env else None
