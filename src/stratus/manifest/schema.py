"""The tables of ``stratus.toml`` as pydantic models: types, ranges and defaults of every field.

Each table is validated on its own here; what needs two tables at once (a queue a service consumes, a path two
services claim) is in :mod:`stratus.manifest.checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from stratus import naming, schedules

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
    "secret": ("read",),
    "model": ("invoke",),
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
    # Where Lambda zips get Powertools for AWS Lambda and what its layer brings (pydantic...): "bundle" ships them in
    # every zip; "layer" attaches AWS's managed Powertools layer of the version in uv.lock and leaves them out.
    powertools: Literal["bundle", "layer"] = "bundle"
    version: str = "0.1.0"
    # The S3 bucket holding Terraform state (`stratus infra`); bucket names are global, so pick your own.
    state_bucket: Annotated[str, _pattern(naming.BUCKET_NAME_RE, "must be a valid S3 bucket name")] | None = None
    # On every AWS resource (the provider's default_tags), beside Project, Environment and ManagedBy.
    tags: dict[
        Annotated[
            str,
            _pattern(
                re.compile(r"^(?!aws:)[\w .:/=+@-]{1,128}$"),
                "must be a tag key: 1-128 characters, letters, digits, spaces and _.:/=+-@, not starting with aws:",
            ),
        ],
        Annotated[str, _pattern(re.compile(r"^[\w .:/=+@-]{0,256}$"), "must be a tag value: up to 256 characters")],
    ] = Field(default_factory=dict)


class DomainConfig(_Model):
    """A custom domain for the HTTP API in one environment: an ACM certificate and a Route 53 alias."""

    name: Annotated[
        str,
        _pattern(
            re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"), "must be a DNS name"
        ),
    ]
    zone_id: Annotated[str, _pattern(re.compile(r"^Z[A-Z0-9]{1,32}$"), "must be a Route 53 hosted zone id")]


CIDR_RE = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}/(1[6-9]|2[0-4])$")


class NetworkConfig(_Model):
    """Where what needs a VPC runs: the databases, and the services that use them. Either Stratus creates the VPC
    (``create = true``: private subnets in ``zones`` Availability Zones, VPC endpoints for the AWS services those
    services use, no NAT and no internet route), or it uses an existing one (``vpc_id`` and its private
    ``subnet_ids``, in at least two Availability Zones)."""

    create: bool = False
    cidr: Annotated[str, _pattern(CIDR_RE, "must be an IPv4 CIDR block from /16 to /24, e.g. 10.42.0.0/16")] = (
        "10.42.0.0/16"
    )
    zones: Annotated[int, _range(2, 3)] = 2
    vpc_id: (
        Annotated[str, _pattern(re.compile(r"^vpc-[0-9a-f]{8,17}$"), "must be a VPC id like vpc-0abc12345")] | None
    ) = None
    subnet_ids: list[
        Annotated[str, _pattern(re.compile(r"^subnet-[0-9a-f]{8,17}$"), "must be a subnet id like subnet-0abc12345")]
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way(self) -> NetworkConfig:
        if self.create == (self.vpc_id is not None):
            raise PydanticCustomError(
                "network", "say how to get the VPC: create = true, or vpc_id and subnet_ids of an existing one", {}
            )
        if self.vpc_id is not None and len(self.subnet_ids) < 2:
            raise PydanticCustomError(
                "network", "subnet_ids needs at least two private subnets, in two Availability Zones (RDS needs two)",
                {},
            )  # fmt: skip
        if self.create and self.subnet_ids:
            raise PydanticCustomError(
                "network", "subnet_ids is for an existing VPC; with create = true leave it out", {}
            )
        return self


class AlarmThresholds(_Model):
    """When a service's alarms fire, per 5 minutes."""

    errors: Annotated[int, _range(0, 1_000_000)] = 0  # function errors (or 5xx answers of a container) above this
    throttles: Annotated[int, _range(0, 1_000_000)] = 0  # throttled invocations above this
    duration: Annotated[float, _range(0.1, 1.0)] = 0.8  # the slowest invocation above this share of the timeout


class AlarmsConfig(AlarmThresholds):
    """Where every alarm of the stack goes (an SNS topic Stratus creates with an e-mail subscription, or an
    existing topic), and the thresholds of every service that sets none of its own."""

    email: Annotated[str, _pattern(re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "must be an e-mail address")] | None = (
        None
    )
    topic_arn: Annotated[str, _pattern(re.compile(r"^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$"),
                                       "must be an SNS topic ARN")] | None = None  # fmt: skip
    dlq_depth: Annotated[int, _range(0, 1_000_000)] = 0  # messages in a dead-letter queue above this

    @model_validator(mode="after")
    def _one_target(self) -> AlarmsConfig:
        if self.email is not None and self.topic_arn is not None:
            raise PydanticCustomError(
                "alarms", "give email (a topic is created) or topic_arn (an existing one), not both", {}
            )
        return self


class EnvironmentConfig(_Model):
    log_retention_days: int = 7
    services: dict[str, dict[str, Any]] = Field(default_factory=dict)
    domain: DomainConfig | None = None
    network: NetworkConfig | None = None  # this environment's, instead of [network]
    cors_origins: list[str] | None = None  # this environment's [api] cors allow_origins, instead of [api]'s

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
    or, for anonymous calls, source IP), counted by the authorizer in its ``rate_limits`` table. API Gateway's
    Lambda authorizers can only allow or deny, so a request over the limit is answered 403, not 429."""

    requests: Annotated[int, _range(1, 1_000_000, " requests")]
    period: Annotated[int, _range(1, 86400, " s")] = 60


SCOPE_RE = re.compile(r"^[A-Za-z0-9:._/-]{1,64}$")
Scope = Annotated[str, _pattern(SCOPE_RE, "a scope is 1-64 letters, digits and : . _ / -, e.g. records:write")]
AuthMode = Literal["none", "api_key", "token"]
ROUTE_KEY_RE = re.compile(
    r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) "
    r"(/|(/([A-Za-z0-9_.~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*(/\{[A-Za-z_][A-Za-z0-9_]*\+\})?)$"
)
RouteKey = Annotated[
    str,
    _pattern(
        ROUTE_KEY_RE,
        'must be "METHOD /path" under the service\'s path, e.g. "POST /", "GET /leaderboard" or "GET /{id}"',
    ),
]


class RouteOverride(_Model):
    """One route of a service protected differently from the rest of it: what it sets replaces the service's."""

    auth: AuthMode | None = None
    scopes: list[Scope] | None = None
    rate_limit: RateLimit | None = None


class _ServiceBase(_Model):
    path: RoutePath
    auth: AuthMode = "none"
    scopes: list[Scope] = Field(default_factory=list)  # every one required of a caller (token or API key)
    rate_limit: RateLimit | None = None
    # Per-route protection, by "METHOD /path" under the service's path: {"GET /leaderboard" = { auth = "none" }}
    routes: dict[RouteKey, RouteOverride] = Field(default_factory=dict)
    alarms: AlarmThresholds | None = None  # this service's thresholds, instead of [alarms]
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
    # Execution environments of the HTTP function kept initialized (a published version and alias in AWS;
    # warmed at start locally): no cold start for that many concurrent requests.
    provisioned_concurrency: Annotated[int, _range(1, 1000)] | None = None
    arch: Literal["arm64", "x86_64"] | None = None
    package: Literal["zip", "image"] = "zip"  # how AWS gets the code: a .zip, or a container image in ECR
    consumes: list[Consumer] = Field(default_factory=list)
    schedules: list[Schedule] = Field(default_factory=list)
    # The database migrations: a function of the service (same code, role and network) that `stratus dev` invokes
    # once at start and `stratus deploy` after `terraform apply` (`stratus migrate` by hand); never a cold start.
    migrations: Handler | None = None


class ContainerService(_ServiceBase):
    kind: Literal["apprunner", "ecs-express"]
    cpu: int = 1024
    memory: int = 2048
    port: Annotated[int, _range(1, 65535)] = 8080
    command: list[str] | None = None
    scaling: Scaling = Field(default_factory=Scaling)
    health: HealthCheck = Field(default_factory=HealthCheck)


Service = LambdaService | ContainerService

# What may differ between environments ([environments.<env>.services.<name>]), by kind: `stratus infra` renders
# one Terraform configuration for every environment and chooses these by `var.environment`.
PER_ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "lambda": ("memory", "timeout", "reserved_concurrency", "provisioned_concurrency", "arch", "env"),
    "apprunner": ("cpu", "memory", "scaling", "health", "env"),
    "ecs-express": ("cpu", "memory", "scaling", "health", "env"),
}


class Queue(_Model):
    visibility_timeout: Annotated[int, _range(0, 43200, " s")] = 30
    max_receive_count: Annotated[int, _range(1, 1000)] = 3
    message_retention: Annotated[int, _range(60, 1_209_600, " s")] = 345_600
    delay_seconds: Annotated[int, _range(0, 900, " s")] = 0
    receive_wait: Annotated[int, _range(0, 20, " s")] = 20  # long polling: fewer empty receives, same latency
    fifo: bool = False


KeyType = Literal["S", "N", "B"]
INDEX_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


class TableIndex(_Model):
    """A global secondary index: queried by ``IndexName``; eventually consistent, as in AWS."""

    name: Annotated[str, _pattern(INDEX_NAME_RE, "must be 3-255 letters, digits, '_', '-' or '.'")]
    hash_key: str
    hash_key_type: KeyType = "S"
    range_key: str | None = None
    range_key_type: KeyType = "S"
    projection: Literal["all", "keys_only"] = "all"


class Table(_Model):
    hash_key: str
    hash_key_type: KeyType = "S"
    range_key: str | None = None
    range_key_type: KeyType = "S"
    ttl_attribute: str | None = None
    indexes: list[TableIndex] = Field(default_factory=list, max_length=20)  # AWS's default quota: 20 per table

    @model_validator(mode="after")
    def _indexes_agree(self) -> Table:
        names: set[str] = set()
        for index in self.indexes:
            if index.name in names:
                raise PydanticCustomError("index", "index {name} is declared twice", {"name": repr(index.name)})
            names.add(index.name)
        types: dict[str, str] = {}
        for attribute, kind in self.key_attributes():
            if types.setdefault(attribute, kind) != kind:
                raise PydanticCustomError(
                    "index",
                    "attribute {attribute} is a key of type {a} and of type {b}: DynamoDB needs one type",
                    {"attribute": repr(attribute), "a": types[attribute], "b": kind},
                )
        return self

    def key_attributes(self) -> list[tuple[str, str]]:
        """Every key attribute of the table and its indexes with its type, in order (duplicates included)."""
        out: list[tuple[str, str]] = [(self.hash_key, self.hash_key_type)]
        if self.range_key:
            out.append((self.range_key, self.range_key_type))
        for index in self.indexes:
            out.append((index.hash_key, index.hash_key_type))
            if index.range_key:
                out.append((index.range_key, index.range_key_type))
        return out

    def attribute_definitions(self) -> dict[str, str]:
        """The ``AttributeDefinitions`` of the table: each key attribute once, with its type."""
        return dict(self.key_attributes())


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


class Secret(_Model):
    """A Secrets Manager secret a service reads (``uses = { NAME = "read" }``): a random value that Terraform
    generates (``generate = LENGTH``), or one set outside Terraform (``external = true``). Either way the value is
    in no file Stratus writes (the generated one not even in the Terraform state)."""

    generate: Annotated[int, _range(32, 4096, " characters")] | None = None
    external: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> Secret:
        if (self.generate is None) == (not self.external):
            raise PydanticCustomError(
                "secret",
                "give the secret one way to get a value: generate = 64 (a random value of that length, made by "
                "Terraform) or external = true (you set it: aws secretsmanager put-secret-value)",
                {},
            )
        return self


MODEL_ID_RE = re.compile(r"^[a-z0-9-]+\.[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)*$")


class Model(_Model):
    """An Amazon Bedrock foundation model a service invokes (``uses = { NAME = "invoke" }``): the service gets
    ``<NAME>_MODEL_ID`` (and ``BEDROCK_MODEL_ID`` when it uses one model) and may call ``bedrock:InvokeModel``
    (InvokeModel, Converse) on that model's ARN only. The local cloud answers with an offline generator."""

    id: Annotated[
        str,
        _pattern(MODEL_ID_RE, "must be a Bedrock foundation model id, e.g. anthropic.claude-3-haiku-20240307-v1:0"),
    ]
    description: str = ""


RESOURCE_TABLES: dict[str, tuple[naming.ResourceKind, type[_Model]]] = {
    "queues": ("queue", Queue),
    "tables": ("table", Table),
    "buckets": ("bucket", Bucket),
    "databases": ("database", Database),
    "secrets": ("secret", Secret),
    "models": ("model", Model),
}
