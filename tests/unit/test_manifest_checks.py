"""What one back end could not honour, `stratus validate` refuses first, naming the field and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stratus.manifest import ManifestError, load_stack

BASE = """
[project]
name = "acme"

[services.gateway]
kind = "lambda"
path = "/"
"""


def problems(tmp_path: Path, extra: str, env: str = "dev") -> list[str]:
    (tmp_path / "stratus.toml").write_text(textwrap.dedent(BASE) + textwrap.dedent(extra))
    with pytest.raises(ManifestError) as caught:
        load_stack(tmp_path, env=env)
    return [p.render() for p in caught.value.problems]


def test_an_environment_may_not_move_a_service(tmp_path: Path) -> None:
    # stratus infra renders one configuration for every environment: a path per environment cannot be expressed
    got = problems(
        tmp_path,
        """
        [environments.prod]
        services.gateway.path = "/v2"
        services.gateway.memory = 1024
    """,
    )
    assert got == [
        "stratus.toml: environments.prod.services.gateway.path: cannot differ between environments: one Terraform "
        "configuration serves them all, so only memory, timeout, reserved_concurrency, provisioned_concurrency, arch, "
        "env of a lambda service may (set services.gateway.path for every environment)"
    ]


def test_an_environment_may_not_change_what_a_container_shares(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
        [services.web]
        kind = "apprunner"
        path = "/web"

        [environments.prod]
        services.web.port = 9000
    """,
    )
    assert got[0].startswith("stratus.toml: environments.prod.services.web.port: cannot differ between environments")
    assert "cpu, memory, scaling, health, env of a apprunner service" in got[0]


def test_an_ecs_express_service_cannot_use_a_database(tmp_path: Path) -> None:
    got = problems(tmp_path, """
        [services.web]
        kind = "ecs-express"
        path = "/web"
        uses = { records = "read" }

        [network]
        create = true

        [databases.records]
    """)  # fmt: skip
    assert got == [
        "stratus.toml: services.web.uses.records: an ECS Express service in private subnets gets an internal load "
        "balancer, which the HTTP API cannot reach; use the database from a Lambda or an App Runner service "
        '(kind = "apprunner", which reaches the VPC through a connector)'
    ]


def test_a_database_needs_a_network_in_every_environment(tmp_path: Path) -> None:
    got = problems(tmp_path, """
        [environments.prod.network]
        vpc_id = "vpc-0a1b2c3d4e5f60718"
        subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]

        [databases.records]
    """)  # fmt: skip
    assert got == [
        "stratus.toml: databases.records: a database needs a network, and environment dev has none: declare "
        "[network] create = true (Stratus creates a private VPC), or vpc_id and subnet_ids of an existing one (or "
        "per environment: [environments.<env>.network])"
    ]


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ('create = true\nvpc_id = "vpc-0a1b2c3d4e5f6071"', "say how to get the VPC"),
        ("", "say how to get the VPC"),
        ('vpc_id = "vpc-0a1b2c3d4e5f6071"\nsubnet_ids = ["subnet-0a1b2c3d4e5f6071"]', "at least two private subnets"),
        ('create = true\ncidr = "10.0.0.0/8"', "must be an IPv4 CIDR block from /16 to /24"),
        ('vpc_id = "vpc-0a1b2c3d4e5f6071"\nsubnet_ids = ["sub-1", "sub-2"]', "must be a subnet id"),
    ],
)
def test_a_network_says_clearly_how_to_get_the_vpc(tmp_path: Path, network: str, message: str) -> None:
    got = problems(tmp_path, f"[network]\n{network}\n")
    assert any(p.startswith("stratus.toml: network") and message in p for p in got), got


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "give the secret one way to get a value"),
        ("generate = 64\nexternal = true", "give the secret one way to get a value"),
        ("generate = 8", "must be 32–4096 characters"),
    ],
)
def test_a_secret_needs_one_way_to_get_its_value(tmp_path: Path, secret: str, message: str) -> None:
    got = problems(tmp_path, f"[secrets.api-key]\n{secret}\n")
    assert any(p.startswith("stratus.toml: secrets.api-key") and message in p for p in got), got


def test_a_service_cannot_use_an_undeclared_secret(tmp_path: Path) -> None:
    got = problems(tmp_path, """
        [services.worker]
        kind = "lambda"
        path = "/worker"
        uses = { token-signing = "read" }
    """)  # fmt: skip
    assert got == [
        "stratus.toml: services.worker.uses.token-signing: no queue, table, bucket, database or secret named "
        "'token-signing' is declared (declared: none)"
    ]


def test_provisioned_concurrency_cannot_exceed_reserved(tmp_path: Path) -> None:
    got = problems(tmp_path, """
        [services.worker]
        kind = "lambda"
        path = "/worker"
        reserved_concurrency = 2
        provisioned_concurrency = 3
    """)  # fmt: skip
    assert got == [
        "stratus.toml: services.worker.provisioned_concurrency: 3 is more than the service's reserved_concurrency "
        "(2): AWS refuses provisioned concurrency beyond it"
    ]


def test_a_bucket_cannot_take_the_name_of_the_artifacts_bucket(tmp_path: Path) -> None:
    got = problems(tmp_path, "[buckets.lambda-artifacts]\n")
    assert got == [
        "stratus.toml: buckets.lambda-artifacts: its bucket would be named 'acme-dev-lambda-artifacts', as is one of "
        "[project] (the bucket stratus deploy uploads zips to); rename one of them"
    ]


def test_two_functions_cannot_share_an_aws_name_across_services(tmp_path: Path) -> None:
    # GIVEN service "a" with a schedule "b-sweep" and service "a-b" with one "sweep": both acme-dev-a-b-sweep
    got = problems(
        tmp_path,
        """
        [services.a]
        kind = "lambda"
        path = "/a"
        schedules = [{ rate = "1 hour", handler = "a.tasks.handler", name = "b-sweep" }]

        [services.a-b]
        kind = "lambda"
        path = "/ab"
        schedules = [{ rate = "1 hour", handler = "a_b.tasks.handler", name = "sweep" }]
    """,
    )
    assert got == [
        "stratus.toml: services.a-b.schedules[0]: its function would be named 'acme-dev-a-b-sweep', as is one of "
        "services.a.schedules[0]; rename one of them"
    ]


def test_a_schedule_cannot_take_the_name_of_a_consumer(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
        [services.worker]
        kind = "lambda"
        path = "/worker"
        consumes = [{ queue = "jobs", handler = "worker.consumer.handler" }]
        schedules = [{ rate = "1 hour", handler = "worker.tasks.handler", name = "jobs-consumer" }]

        [queues.jobs]
    """,
    )
    assert got == [
        "stratus.toml: services.worker.schedules[0]: its function would be named 'acme-dev-worker-jobs-consumer', "
        "as is one of services.worker.consumes[0]; rename one of them"
    ]


def test_a_queue_named_like_another_queues_dead_letter_queue_is_refused(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
        [queues.jobs]
        [queues.jobs-dlq]
    """,
    )
    assert got == [
        "stratus.toml: queues.jobs-dlq: its queue would be named 'acme-dev-jobs-dlq', as is one of queues.jobs; "
        "rename one of them"
    ]


def test_a_queue_is_consumed_once_per_service(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
        [services.worker]
        kind = "lambda"
        path = "/worker"
        consumes = [{ queue = "jobs", handler = "worker.a.handler" }, { queue = "jobs", handler = "worker.b.handler" }]

        [queues.jobs]
    """,
    )
    expected = "stratus.toml: services.worker.consumes[1].queue: queue 'jobs' is consumed twice; one consumer per queue"
    assert expected in got


def test_one_bucket_invokes_one_function_per_service(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
        [buckets.uploads]
        notify = [
          { service = "gateway", handler = "gateway.files.created", events = ["s3:ObjectCreated:*"] },
          { service = "gateway", handler = "gateway.files.removed", events = ["s3:ObjectRemoved:*"] },
        ]
    """,
    )
    assert got == [
        "stratus.toml: buckets.uploads.notify[1].handler: 'gateway' already handles this bucket's events with "
        "'gateway.files.created': one function per bucket and service, so use one handler and branch on the event's "
        "key or name"
    ]


@pytest.mark.parametrize(
    ("first", "second", "overlaps"),
    [
        ('events = ["s3:ObjectCreated:*"]', 'events = ["s3:ObjectCreated:Put"]', True),  # * covers Put
        ('prefix = "in/"', 'prefix = "in/csv/"', True),  # one prefix extends the other
        ('prefix = "in/"', 'prefix = "out/"', False),
        ('suffix = ".csv"', 'suffix = ".json"', False),
        ('events = ["s3:ObjectCreated:*"]', 'events = ["s3:ObjectRemoved:*"]', False),
        ("", 'suffix = ".csv"', True),  # no filter matches every key
    ],
)
def test_notifications_s3_would_call_ambiguous_are_refused(
    tmp_path: Path, first: str, second: str, overlaps: bool
) -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html: overlapping
    # prefixes and suffixes for the same event type make the configuration invalid
    def entry(service: str, extra: str) -> str:
        fields = [f'service = "{service}"', f'handler = "{service}.files.handler"', *([extra] if extra else [])]
        return "{ " + ", ".join(fields) + " }"

    manifest = (
        textwrap.dedent(BASE)
        + textwrap.dedent("""
        [services.other]
        kind = "lambda"
        path = "/other"
    """)
        + f"\n[buckets.uploads]\nnotify = [{entry('gateway', first)}, {entry('other', second)}]\n"
    )
    (tmp_path / "stratus.toml").write_text(manifest)
    if overlaps:
        with pytest.raises(ManifestError, match=r"buckets\.uploads\.notify\[1\]: overlaps notify\[0\]"):
            load_stack(tmp_path)
    else:
        assert len(load_stack(tmp_path).plan.buckets["uploads"].notifications) == 2


def test_derived_names_must_fit_awss_limits_in_every_environment(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
        [environments.production-eu-west]

        [services.worker]
        kind = "lambda"
        path = "/worker"
        consumes = [{ queue = "notifications-of-new-orders", handler = "worker.consumer.handler" }]

        [queues.notifications-of-new-orders]
    """,
    )
    assert got == [
        "stratus.toml: services.worker.consumes[0]: "
        "'acme-production-eu-west-worker-notifications-of-new-orders-consumer' is 67 characters: "
        "Lambda function names are at most 64 characters; use a shorter name"
    ]


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ('[{ name = "by-email", hash_key = "email" }, { name = "by-email", hash_key = "name" }]',
         "index 'by-email' is declared twice"),
        ('[{ name = "by-id", hash_key = "id", hash_key_type = "N" }]',
         "attribute 'id' is a key of type S and of type N"),
        ('[{ name = "x", hash_key = "email" }]', "must be 3-255 letters"),
    ],
)  # fmt: skip
def test_table_indexes_are_checked_where_they_are_declared(tmp_path: Path, indexes: str, message: str) -> None:
    found = problems(tmp_path, f'[tables.users]\nhash_key = "id"\nindexes = {indexes}\n')
    assert any(p.startswith("stratus.toml: tables.users") and message in p for p in found), found
