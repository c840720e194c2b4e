"""``stratus.toml`` -> :class:`Stack`: the one model of the stack that everything else reads.

``load_stack(path)`` parses and checks the whole file and raises :class:`ManifestError` carrying *every*
problem found, each naming the file, the table and the field
(``stratus.toml: services.worker.memory: must be 128–10240 MB (got 20000)``).

Checks run in two passes: each table is validated on its own (types, ranges, unknown keys), so one bad
service does not hide the problems of another; then the cross-references (paths, ``uses``, queues a
service consumes, AWS's cpu/memory pairs, name lengths once prefixed) run over everything that parsed.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from stratus import naming, schedules
from stratus.errors import StratusError

MANIFEST_NAME = "stratus.toml"
DEFAULT_ENV = "dev"


# --------------------------------------------------------------------------------------------------- types


def _range(lo: float, hi: float, unit: str = "") -> AfterValidator:
    def check(value: float) -> float:
        if not lo <= value <= hi:
            raise PydanticCustomError(
                "range", "must be {lo}–{hi}{unit} (got {got})", {"lo": lo, "hi": hi, "unit": unit, "got": value}
            )
        return value

    return AfterValidator(check)


def _pattern(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise PydanticCustomError("name", "{what} (got {got})", {"what": what, "got": repr(value)})
        return value

    return AfterValidator(check)


HANDLER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
PATH_RE = re.compile(r"^/([a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*)?$")

Handler = Annotated[str, _pattern(HANDLER_RE, "must be a dotted path module.function, e.g. worker.main.handler")]
RoutePath = Annotated[
    str,
    _pattern(
        PATH_RE, 'must be "/" or "/segment[/segment…]" of lowercase letters, digits, "-" and "_", no trailing "/"'
    ),
]
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653, 0)  # fmt: skip

ACCESS_LEVELS: dict[str, tuple[str, ...]] = {
    "queue": ("send", "receive", "send-receive"),
    "table": ("read", "write", "read-write"),
    "bucket": ("read", "write", "read-write"),
    "database": ("read", "read-write"),
}
APPRUNNER_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024),
    512: (1024, 2048),
    1024: (2048, 3072, 4096),
    2048: (4096, 6144, 8192),
    4096: (8192, 10240, 12288),
}
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------- tables


class ProjectConfig(_Model):
    name: Annotated[str, _pattern(naming.SERVICE_NAME_RE, "must be lowercase letters, digits and hyphens")]
    region: Annotated[str, _pattern(re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$"), "must be an AWS region like us-east-1")] = (
        "us-east-1"
    )
    runtime: Literal["python3.11", "python3.12", "python3.13", "python3.14"] = "python3.13"
    arch: Literal["arm64", "x86_64"] = "arm64"
    version: str = "0.1.0"
    # The S3 bucket holding Terraform state (`stratus infra`); bucket names are global, so pick your own.
    state_bucket: Annotated[str, _pattern(naming.BUCKET_NAME_RE, "must be a valid S3 bucket name")] | None = None


class DomainConfig(_Model):
    """A custom domain for the HTTP API in one environment: an ACM certificate and a Route 53 alias."""

    name: Annotated[
        str,
        _pattern(
            re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"), "must be a DNS name"
        ),
    ]
    zone_id: Annotated[str, _pattern(re.compile(r"^Z[A-Z0-9]{1,32}$"), "must be a Route 53 hosted zone id")]


class EnvironmentConfig(_Model):
    log_retention_days: int = 7
    services: dict[str, dict[str, Any]] = Field(default_factory=dict)
    domain: DomainConfig | None = None

    @model_validator(mode="after")
    def _retention(self) -> EnvironmentConfig:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise PydanticCustomError(
                "retention",
                "log_retention_days must be one of CloudWatch's values {allowed} (got {got})",
                {"allowed": ", ".join(map(str, LOG_RETENTION_DAYS)), "got": self.log_retention_days},
            )
        return self


class CorsConfig(_Model):
    allow_origins: list[str] = Field(default_factory=list)
    allow_methods: list[str] = Field(default_factory=lambda: ["*"])
    allow_headers: list[str] = Field(default_factory=lambda: ["*"])
    expose_headers: list[str] = Field(default_factory=list)
    max_age: Annotated[int, _range(0, 86400, " s")] = 0
    allow_credentials: bool = False


class ThrottleConfig(_Model):
    rate: Annotated[float, _range(0.001, 1_000_000, " requests/s")]
    burst: Annotated[int, _range(0, 1_000_000, " requests")]


class AuthorizerConfig(_Model):
    """The Lambda REQUEST authorizer (payload 2.0, simple responses) of routes whose service has ``auth``."""

    service: str
    handler: Handler
    ttl: Annotated[int, _range(0, 3600, " s")] = 0  # 0: no caching, the authorizer sees every request
    identity_sources: list[str] = Field(default_factory=list)  # e.g. "$request.header.Authorization"


DEFAULT_AUTHORIZER = AuthorizerConfig(service="gateway", handler="gateway.authorizer.handler")


class ApiConfig(_Model):
    cors: CorsConfig | None = None
    throttle: ThrottleConfig | None = None
    # Default: the `gateway` service's gateway.authorizer.handler, when a Lambda service named gateway exists.
    authorizer: AuthorizerConfig | None = None


class HealthCheck(_Model):
    protocol: Literal["http", "tcp"] = "http"
    path: str = "/health"
    interval: Annotated[int, _range(1, 20, " s")] = 5
    timeout: Annotated[int, _range(1, 20, " s")] = 2
    healthy: Annotated[int, _range(1, 20)] = 1
    unhealthy: Annotated[int, _range(1, 20)] = 5


class Scaling(_Model):
    min: Annotated[int, _range(1, 25)] = 1
    max: Annotated[int, _range(1, 25)] = 25
    concurrency: Annotated[int, _range(1, 200)] = 100


class Consumer(_Model):
    queue: str
    handler: Handler
    batch_size: Annotated[int, _range(1, 10)] = 10
    batching_window: Annotated[int, _range(0, 300, " s")] = 0


class Schedule(_Model):
    rate: str | None = None
    cron: str | None = None
    handler: Handler
    name: Annotated[str, _pattern(naming.SERVICE_NAME_RE, "must be lowercase letters, digits and hyphens")] | None = (
        None
    )

    @model_validator(mode="after")
    def _one_expression(self) -> Schedule:
        if (self.rate is None) == (self.cron is None):
            raise PydanticCustomError("schedule", "give exactly one of rate or cron", {})
        try:
            schedules.parse(self.expression)
        except schedules.ScheduleError as exc:
            message = "{problem} (EventBridge schedule expressions)"
            raise PydanticCustomError("schedule", message, {"problem": str(exc)}) from exc
        return self

    @property
    def expression(self) -> str:
        return f"rate({self.rate})" if self.rate is not None else f"cron({self.cron})"

    @property
    def key(self) -> str:
        """The schedule's name: ``name``, else its handler's function (``worker.jobs.sweep`` -> ``sweep``), or
        its module when the function is a generic ``handler`` (``worker.sweeper.handler`` -> ``sweeper``)."""
        if self.name:
            return self.name
        parts = self.handler.split(".")
        chosen = parts[-2] if parts[-1] in ("handler", "lambda_handler", "handle", "main") else parts[-1]
        return chosen.replace("_", "-")


class RateLimit(_Model):
    """A route's rate-limit policy: at most ``requests`` per ``period`` seconds per principal (user, API key
    or, for anonymous calls, source IP), counted by the gateway in its ``rate_limits`` table."""

    requests: Annotated[int, _range(1, 1_000_000, " requests")]
    period: Annotated[int, _range(1, 86400, " s")] = 60


class _ServiceBase(_Model):
    path: RoutePath
    auth: Literal["none", "api_key", "token"] = "none"
    rate_limit: RateLimit | None = None
    env: dict[str, str] = Field(default_factory=dict)
    uses: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    integration_timeout: Annotated[float, _range(0.05, 30, " s")] = 30.0


class LambdaService(_ServiceBase):
    kind: Literal["lambda"]
    handler: Handler | None = None
    memory: Annotated[int, _range(128, 10240, " MB")] = 512
    timeout: Annotated[int, _range(1, 900, " s")] = 30
    reserved_concurrency: Annotated[int, _range(0, 1000)] | None = None
    arch: Literal["arm64", "x86_64"] | None = None
    package: Literal["zip", "image"] = "zip"  # how AWS gets the code: a .zip, or a container image in ECR
    consumes: list[Consumer] = Field(default_factory=list)
    schedules: list[Schedule] = Field(default_factory=list)


class ContainerService(_ServiceBase):
    kind: Literal["apprunner", "ecs-express"]
    cpu: int = 1024
    memory: int = 2048
    port: Annotated[int, _range(1, 65535)] = 8080
    command: list[str] | None = None
    scaling: Scaling = Field(default_factory=Scaling)
    health: HealthCheck = Field(default_factory=HealthCheck)


Service = LambdaService | ContainerService


class Queue(_Model):
    visibility_timeout: Annotated[int, _range(0, 43200, " s")] = 30
    max_receive_count: Annotated[int, _range(1, 1000)] = 3
    message_retention: Annotated[int, _range(60, 1_209_600, " s")] = 345_600
    delay_seconds: Annotated[int, _range(0, 900, " s")] = 0
    receive_wait: Annotated[int, _range(0, 20, " s")] = 0
    fifo: bool = False


class Table(_Model):
    hash_key: str
    hash_key_type: Literal["S", "N", "B"] = "S"
    range_key: str | None = None
    range_key_type: Literal["S", "N", "B"] = "S"
    ttl_attribute: str | None = None


S3_EVENTS = (
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
)  # fmt: skip


class BucketNotification(_Model):
    """S3 -> Lambda: ``events`` on keys matching ``prefix``/``suffix`` invoke ``handler`` of ``service``."""

    service: str
    handler: Handler
    events: list[Literal[S3_EVENTS]] = Field(default_factory=lambda: ["s3:ObjectCreated:*"])  # type: ignore[valid-type]
    prefix: str = ""
    suffix: str = ""


class Bucket(_Model):
    versioning: bool = False
    expire_days: Annotated[int, _range(1, 36500, " days")] | None = None
    notify: list[BucketNotification] = Field(default_factory=list)


class Database(_Model):
    engine: Literal["postgres"] = "postgres"
    version: str = "16"
    instance_class: str = "db.t4g.micro"
    storage_gb: Annotated[int, _range(20, 65536, " GB")] = 20


RESOURCE_TABLES: dict[str, tuple[naming.ResourceKind, type[_Model]]] = {
    "queues": ("queue", Queue),
    "tables": ("table", Table),
    "buckets": ("bucket", Bucket),
    "databases": ("database", Database),
}


# --------------------------------------------------------------------------------------------------- stack


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

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

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

    def resource_name(self, name: str) -> str:
        return naming.resource_name(self.project.name, self.env, name)

    def service_dir(self, name: str) -> Path:
        svc = self.services[name]
        return self.root / (svc.source or f"services/{name}")

    def handler(self, name: str) -> str:
        svc = self.services[name]
        assert isinstance(svc, LambdaService)
        return svc.handler or f"{naming.package_name(name)}.main.handler"

    def command(self, name: str) -> list[str]:
        svc = self.services[name]
        assert isinstance(svc, ContainerService)
        return svc.command or ["python", "-m", f"{naming.package_name(name)}.main"]

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

    def route_auth(self) -> dict[str, str]:
        """Route path -> auth mode of every service: the gateway authorizer's ``STRATUS_ROUTE_AUTH`` (as JSON)."""
        return {svc.path: svc.auth for svc in self.services.values()}

    def route_rate_limits(self) -> dict[str, dict[str, int]]:
        """Route path -> ``{"requests", "period"}`` of every service with a ``rate_limit``: ``STRATUS_RATE_LIMITS``."""
        return {svc.path: svc.rate_limit.model_dump() for svc in self.services.values() if svc.rate_limit is not None}

    @property
    def log_retention_days(self) -> int:
        env = self.environments.get(self.env)
        return env.log_retention_days if env else 7

    @property
    def authorizer(self) -> AuthorizerConfig | None:
        """The authorizer of protected routes: ``[api] authorizer``, else the gateway service's, if there is one."""
        if self.api.authorizer is not None:
            return self.api.authorizer
        gateway = self.services.get(DEFAULT_AUTHORIZER.service)
        return DEFAULT_AUTHORIZER if isinstance(gateway, LambdaService) else None

    @property
    def domain(self) -> DomainConfig | None:
        """The HTTP API's custom domain in this environment, if one is declared."""
        env = self.environments.get(self.env)
        return env.domain if env else None


# --------------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the manifest: where (``services.worker.memory``) and what."""

    location: str
    message: str

    def render(self, file: str = MANIFEST_NAME) -> str:
        return f"{file}: {self.location}: {self.message}" if self.location else f"{file}: {self.message}"


class ManifestError(StratusError):
    """The manifest cannot be used as written; ``problems`` lists every reason."""

    exit_code = 2

    def __init__(self, problems: list[Problem], file: str = MANIFEST_NAME) -> None:
        self.problems = problems
        self.file = file
        lines = [p.render(file) for p in problems]
        super().__init__(
            "\n".join(lines),
            hint=f"fix the {len(problems)} problem{'s' * (len(problems) != 1)} above in {file}",
        )


def _problems_from(exc: ValidationError, prefix: str, model: type[BaseModel]) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        where = ".".join([prefix, *loc]) if prefix else ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _fields_at(model, err["loc"][:-1])
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(allowed)}"
            problems.append(Problem(where, f"unknown field{hint}"))
        elif err["type"] == "missing":
            problems.append(Problem(where, "required field is missing"))
        elif err["type"] == "literal_error":
            problems.append(Problem(where, f"must be one of {err['ctx']['expected']} (got {err['input']!r})"))
        else:
            msg = err["msg"]
            msg = msg.removeprefix("Value error, ")
            problems.append(Problem(where, msg[0].lower() + msg[1:] if msg else msg))
    return problems


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------------------------- parsing


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding a ``stratus.toml``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    raise StratusError(
        f"no {MANIFEST_NAME} found in {here} or any parent directory",
        hint="run stratus from inside a Stratus project, or create one with `stratus init DIR`",
    )


def load_stack(root: Path | None = None, env: str = DEFAULT_ENV) -> Stack:
    """Read, validate and resolve the manifest for ``env``; raises :class:`ManifestError` with every problem."""
    root = find_root(root)
    path = root / MANIFEST_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([Problem("", f"not valid TOML: {exc}")]) from exc
    return parse_stack(raw, root=root, env=env)


def parse_stack(raw: dict[str, Any], *, root: Path, env: str = DEFAULT_ENV) -> Stack:
    """Validate a decoded manifest for ``env``: all problems, of every environment, at once."""
    problems: list[Problem] = []
    known = {"project", "environments", "api", "services", *RESOURCE_TABLES}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean [{close[0]}]?" if close else f"; known tables: {', '.join(sorted(known))}"
            problems.append(Problem(key, f"unknown table{hint}"))

    project = _one(ProjectConfig, raw.get("project"), "project", problems)
    api = _one(ApiConfig, raw.get("api", {}), "api", problems) or ApiConfig()
    environments = _many(EnvironmentConfig, raw.get("environments", {}), "environments", problems)
    resources = {
        table: _many(model, raw.get(table, {}), table, problems) for table, (_, model) in RESOURCE_TABLES.items()
    }
    raw_services = raw.get("services", {})
    services = _services(raw_services, "services", problems)

    # The same manifest, seen from each environment: overrides must be valid too.
    env_views: dict[str, Mapping[str, Service]] = {}
    for env_name, env_raw in (raw.get("environments") or {}).items():
        overrides = env_raw.get("services", {}) if isinstance(env_raw, dict) else {}
        if not isinstance(overrides, dict) or not overrides:
            continue
        for svc_name in overrides:
            if svc_name not in raw_services:
                problems.append(Problem(f"environments.{env_name}.services.{svc_name}", "no such service"))
        merged = _merge(raw_services, {k: v for k, v in overrides.items() if k in raw_services})
        env_problems: list[Problem] = []
        view = _services(merged, "services", env_problems)
        for p in env_problems:
            if _is_override(p.location, overrides):
                problems.append(Problem(f"environments.{env_name}.{p.location}", p.message))
        env_views[env_name] = view

    if project is None:  # still check the rest, with the project's name if it has one
        raw_name = (raw.get("project") or {}).get("name") if isinstance(raw.get("project"), dict) else None
        project = ProjectConfig.model_construct(name=raw_name if isinstance(raw_name, str) else "project")
    stack = Stack(
        root=root,
        env=env,
        project=project,
        api=api,
        services=env_views.get(env, services),
        queues=resources["queues"],
        tables=resources["tables"],
        buckets=resources["buckets"],
        databases=resources["databases"],
        environments=environments,
    )
    envs = sorted({DEFAULT_ENV, env, *environments})
    problems.extend(check_stack(stack, envs))
    # Routes and references are checked on the raw tables too, so a service with a bad field still counts.
    if isinstance(raw_services, dict):
        problems.extend(_check_paths(raw_services))
        problems.extend(_check_uses(stack, raw_services))
    if problems:
        raise ManifestError(_dedupe(problems))
    return stack


def _one(model: type[_Model], data: Any, loc: str, problems: list[Problem]) -> Any:
    if data is None:
        problems.append(Problem(loc, f"the [{loc}] table is required"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, loc, model))
        return None


def _many(model: type[_Model], data: Any, loc: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.append(Problem(loc, f"must be a table of named entries, [{loc}.NAME]"))
        return {}
    out = {}
    for name, entry in data.items():
        parsed = _one(model, entry if entry is not None else {}, f"{loc}.{name}", problems)
        if parsed is not None:
            out[name] = parsed
    return out


def _services(data: Any, loc: str, problems: list[Problem]) -> dict[str, Service]:
    if not isinstance(data, dict):
        problems.append(Problem(loc, "must be a table of services, [services.NAME]"))
        return {}
    out: dict[str, Service] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            problems.append(Problem(f"{loc}.{name}", "must be a table"))
            continue
        kind = entry.get("kind")
        model: type[_Model]
        if kind == "lambda":
            model = LambdaService
        elif kind in ("apprunner", "ecs-express"):
            model = ContainerService
        else:
            got = "missing" if kind is None else f"got {kind!r}"
            problems.append(Problem(f"{loc}.{name}.kind", f'must be "lambda", "apprunner" or "ecs-express" ({got})'))
            continue
        parsed = _one(model, entry, f"{loc}.{name}", problems)
        if parsed is not None:
            out[name] = parsed
    return out


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_override(location: str, overrides: dict[str, Any]) -> bool:
    node: Any = {"services": overrides}
    for part in location.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# --------------------------------------------------------------------------------------------------- checks


def check_stack(stack: Stack, envs: list[str]) -> list[Problem]:
    """Cross-table rules: what no single table can know."""
    problems: list[Problem] = []
    problems += _check_names(stack, envs)
    for bucket_name, bucket in stack.buckets.items():
        for i, notification in enumerate(bucket.notify):
            target = stack.services.get(notification.service)
            if not isinstance(target, LambdaService):
                what = "no such service" if target is None else f"{notification.service!r} is not a Lambda service"
                problems.append(Problem(f"buckets.{bucket_name}.notify[{i}].service", f"{what}: S3 notifies Lambdas"))
    for name, svc in stack.services.items():
        if isinstance(svc, LambdaService):
            problems += _check_lambda(stack, name, svc)
        else:
            problems += _check_container(name, svc)
    problems += _check_deployable(stack, envs)
    return problems


def _check_names(stack: Stack, envs: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for name, svc in stack.services.items():
        if not naming.SERVICE_NAME_RE.fullmatch(name):
            problems.append(
                Problem(f"services.{name}", "service names must be lowercase letters, digits and single hyphens")
            )
            continue
        limit_key = "lambda" if isinstance(svc, LambdaService) else svc.kind
        problems += _check_length(stack, envs, f"services.{name}", name, limit_key)
        problems += _check_length(stack, envs, f"services.{name}", f"{name}-role", "iam_role")
    seen: dict[str, str] = {}
    for table, (kind, _) in RESOURCE_TABLES.items():
        for name in getattr(stack, table):
            where = f"{table}.{name}"
            regex = naming.BUCKET_NAME_RE if kind == "bucket" else naming.RESOURCE_NAME_RE
            if not regex.fullmatch(name):
                allowed = "lowercase letters, digits and hyphens (S3 bucket names allow no '_')"
                if kind != "bucket":
                    allowed = "lowercase letters, digits, '-' and '_'"
                problems.append(Problem(where, f"names must be {allowed}"))
                continue
            if name in seen:
                problems.append(
                    Problem(where, f"the name is also used by {seen[name]}; `uses` refers to resources by name")
                )
            seen[name] = where
            suffix = "-dlq" if kind == "queue" else ""
            problems += _check_length(stack, envs, where, name + suffix, kind)
    return problems


def _check_length(stack: Stack, envs: list[str], where: str, name: str, limit_key: str) -> list[Problem]:
    limit, rule = naming.NAME_LIMITS[limit_key]
    longest = max(envs, key=len)
    full = naming.resource_name(stack.project.name, longest, name)
    if len(full) > limit:
        return [Problem(where, f"{full!r} is {len(full)} characters: {rule}; use a shorter name")]
    return []


def _check_paths(raw_services: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    for name, entry in raw_services.items():
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str):
            continue
        if path in owners:
            problems.append(Problem(f"services.{name}.path", f"{path!r} is already routed to service {owners[path]!r}"))
        else:
            owners[path] = name
    return problems


def _check_uses(stack: Stack, raw_services: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, entry in raw_services.items():
        uses = entry.get("uses") if isinstance(entry, dict) else None
        if isinstance(uses, dict):
            problems += _check_service_uses(stack, name, uses)
    return problems


def _check_service_uses(stack: Stack, name: str, uses: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for res, access in uses.items():
        where = f"services.{name}.uses.{res}"
        kind = stack.resources.get(res)
        if kind is None:
            declared = ", ".join(sorted(stack.resources)) or "none"
            problems.append(
                Problem(where, f"no queue, table, bucket or database named {res!r} is declared (declared: {declared})")
            )
        elif access not in ACCESS_LEVELS[kind]:
            allowed = ", ".join(repr(a) for a in ACCESS_LEVELS[kind])
            problems.append(Problem(where, f"access to a {kind} must be one of {allowed} (got {access!r})"))
    return problems


def _check_lambda(stack: Stack, name: str, svc: LambdaService) -> list[Problem]:
    problems: list[Problem] = []
    seen_schedules: set[str] = set()
    for i, schedule in enumerate(svc.schedules):
        if schedule.key in seen_schedules:
            problems.append(
                Problem(f"services.{name}.schedules[{i}]", f"two schedules are named {schedule.key!r}; give one a name")
            )
        seen_schedules.add(schedule.key)
    for i, consumer in enumerate(svc.consumes):
        where = f"services.{name}.consumes[{i}].queue"
        queue = stack.queues.get(consumer.queue)
        if queue is None:
            problems.append(Problem(where, f"no queue named {consumer.queue!r} is declared under [queues]"))
        elif queue.visibility_timeout < svc.timeout:
            problems.append(
                Problem(
                    where,
                    f"Queue visibility timeout: {queue.visibility_timeout} seconds is less than Function timeout: "
                    f"{svc.timeout} seconds (AWS refuses the event source mapping; raise "
                    f"queues.{consumer.queue}.visibility_timeout to at least {svc.timeout}, ideally 6x)",
                )
            )
        elif queue.fifo and consumer.batching_window:
            problems.append(Problem(where, "FIFO queues do not support a batching window"))
    return problems


def _check_container(name: str, svc: ContainerService) -> list[Problem]:
    table, platform = (APPRUNNER_SIZES, "App Runner") if svc.kind == "apprunner" else (FARGATE_SIZES, "ECS Fargate")
    where = f"services.{name}"
    if svc.cpu not in table:
        return [Problem(f"{where}.cpu", f"{platform} cpu must be one of {', '.join(map(str, table))} (got {svc.cpu})")]
    problems = []
    if svc.memory not in table[svc.cpu]:
        allowed = ", ".join(map(str, table[svc.cpu]))
        problems.append(
            Problem(
                f"{where}.memory",
                f"{platform} allows memory {allowed} MB with cpu {svc.cpu} (got {svc.memory})",
            )
        )
    if svc.scaling.min > svc.scaling.max:
        problems.append(Problem(f"{where}.scaling", f"min ({svc.scaling.min}) is above max ({svc.scaling.max})"))
    if svc.health.timeout > svc.health.interval:
        problems.append(Problem(f"{where}.health.timeout", "must not exceed health.interval"))
    return problems


# --------------------------------------------------------------------------------------------------- deployable

# Names `stratus infra` derives from a service's or a resource's ``<project>-<env>-<name>``, with the AWS limit
# each must fit: ``validate`` refuses a manifest whose Terraform AWS would refuse.
DERIVED_SUFFIXES: dict[str, tuple[str, str]] = {
    "authorizer": ("-authorizer", "lambda"),  # the authorizer's own function
    "async_dlq": ("-async-dlq", "queue"),  # dead-letter queue of a service's asynchronous invocations
    "ecr_access_role": ("-ecr-access", "iam_role"),  # App Runner's role to pull from ECR
    "execution_role": ("-execution", "iam_role"),  # ECS task execution role
    "infrastructure_role": ("-infrastructure", "iam_role"),  # ECS Express infrastructure role
    "monitoring_role": ("-monitoring", "iam_role"),  # RDS enhanced monitoring role
}
# App Runner's auto scaling configuration is named after its service, and has a shorter limit.
APPRUNNER_AUTOSCALING_LIMIT = (32, "App Runner auto scaling configuration names are at most 32 characters")


def _check_deployable(stack: Stack, envs: list[str]) -> list[Problem]:
    """What AWS would refuse in the Terraform of a manifest that is otherwise valid."""
    problems = _check_authorizer(stack)
    for name, svc in stack.services.items():
        where = f"services.{name}"
        if not naming.SERVICE_NAME_RE.fullmatch(name):
            continue
        if isinstance(svc, LambdaService):
            problems += _check_derived(stack, envs, where, name, "async_dlq")
            for i, consumer in enumerate(svc.consumes):
                fn = f"{name}-{consumer.queue}-consumer"  # naming.consumer_function_name without the prefix
                problems += _check_limit(stack, envs, f"{where}.consumes[{i}]", fn, naming.NAME_LIMITS["lambda"])
            for i, schedule in enumerate(svc.schedules):
                fn = f"{name}-{schedule.key}"  # naming.schedule_function_name; its EventBridge rule (64) too
                problems += _check_limit(stack, envs, f"{where}.schedules[{i}]", fn, naming.NAME_LIMITS["lambda"])
        elif svc.kind == "apprunner":
            problems += _check_limit(stack, envs, where, name, APPRUNNER_AUTOSCALING_LIMIT)
            problems += _check_derived(stack, envs, where, name, "ecr_access_role")
        else:
            problems += _check_derived(stack, envs, where, name, "execution_role")
            problems += _check_derived(stack, envs, where, name, "infrastructure_role")
    authorizer = stack.authorizer
    if authorizer is not None and isinstance(stack.services.get(authorizer.service), LambdaService):
        problems += _check_derived(stack, envs, "api.authorizer", authorizer.service, "authorizer")
    for name, queue in stack.queues.items():
        if queue.fifo and naming.RESOURCE_NAME_RE.fullmatch(name):
            limit = naming.NAME_LIMITS["queue"]
            problems += _check_limit(stack, envs, f"queues.{name}", f"{name}-dlq.fifo", limit)
    for name in stack.databases:
        if "_" in name:
            rule = "RDS DB identifiers allow only letters, digits and hyphens; rename without '_'"
            problems.append(Problem(f"databases.{name}", rule))
        elif naming.RESOURCE_NAME_RE.fullmatch(name):
            problems += _check_derived(stack, envs, f"databases.{name}", name, "monitoring_role")
    return problems


def _check_authorizer(stack: Stack) -> list[Problem]:
    problems: list[Problem] = []
    authorizer = stack.authorizer
    explicit = stack.api.authorizer
    if explicit is not None:
        target = stack.services.get(explicit.service)
        if target is None:
            declared = ", ".join(sorted(stack.services)) or "none"
            problems.append(
                Problem("api.authorizer.service", f"no service named {explicit.service!r} (declared: {declared})")
            )
        elif not isinstance(target, LambdaService):
            problems.append(
                Problem("api.authorizer.service", f"{explicit.service!r} is a {target.kind} service; "
                        "API Gateway authorizers are Lambda functions")
            )  # fmt: skip
        if explicit.ttl and not explicit.identity_sources:
            problems.append(
                Problem("api.authorizer.identity_sources", "caching (ttl > 0) needs at least one identity source, "
                        'e.g. ["$request.header.Authorization"] (API Gateway keys the cache on them)')
            )  # fmt: skip
    if authorizer is None:
        for name, svc in stack.services.items():
            if svc.auth != "none":
                problems.append(
                    Problem(f"services.{name}.auth", f"{svc.auth!r} needs an authorizer: declare [api] authorizer = "
                            '{ service = "...", handler = "..." } or a Lambda service named gateway')
                )  # fmt: skip
    return problems


def _check_derived(stack: Stack, envs: list[str], where: str, name: str, what: str) -> list[Problem]:
    suffix, limit_key = DERIVED_SUFFIXES[what]
    return _check_limit(stack, envs, where, name + suffix, naming.NAME_LIMITS[limit_key])


def _check_limit(stack: Stack, envs: list[str], where: str, name: str, limit: tuple[int, str]) -> list[Problem]:
    size, rule = limit
    full = naming.resource_name(stack.project.name, max(envs, key=len), name)
    if len(full) > size:
        return [Problem(where, f"{full!r} is {len(full)} characters: {rule}; use a shorter name")]
    return []
