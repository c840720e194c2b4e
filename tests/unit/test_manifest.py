"""stratus.toml -> Stack: the model every other part reads, and the errors users see."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stratus.manifest import ContainerService, LambdaService, ManifestError, load_stack, parse_stack

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
[project]
name = "acme"

[services.api]
kind = "lambda"
path = "/"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "stratus.toml").write_text(textwrap.dedent(text))
    return tmp_path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_stack(write(tmp_path, text))
    return [p.render() for p in caught.value.problems]


def test_the_repository_manifest_is_valid_and_resolves_per_environment() -> None:
    # GIVEN the reference stack's manifest
    # WHEN it is loaded for dev and for prod
    dev = load_stack(REPO)
    prod = load_stack(REPO, env="prod")
    # THEN services have their kinds, and prod's override applies only to prod
    assert isinstance(dev.services["worker"], LambdaService)
    assert isinstance(dev.services["web"], ContainerService)
    assert dev.services["worker"].memory == 512
    assert prod.services["worker"].memory == 1024
    assert prod.log_retention_days == 30


def test_defaults_fill_in_what_a_minimal_manifest_leaves_out(tmp_path: Path) -> None:
    stack = load_stack(write(tmp_path, MINIMAL))
    svc = stack.services["api"]
    assert isinstance(svc, LambdaService)
    assert (svc.memory, svc.timeout, svc.auth) == (512, 30, "none")
    assert stack.handler("api") == "api.main.handler"
    assert stack.service_dir("api") == tmp_path / "services" / "api"
    assert stack.resource_name("api") == "acme-dev-api"
    assert stack.project.runtime == "python3.13" and stack.project.arch == "arm64"


def test_bindings_include_consumed_queues_with_receive_access(tmp_path: Path) -> None:
    stack = load_stack(
        write(
            tmp_path,
            MINIMAL
            + """
    uses = { jobs = "send", users = "read" }
    timeout = 10
    consumes = [{ queue = "jobs", handler = "api.consumer.handler" }]
    [queues.jobs]
    visibility_timeout = 60
    [tables.users]
    hash_key = "id"
    """,
        )
    )
    assert [(b.kind, b.name, b.access) for b in stack.bindings("api")] == [
        ("queue", "jobs", "send-receive"),
        ("table", "users", "read"),
    ]


def test_every_problem_is_reported_at_once_with_table_and_field(tmp_path: Path) -> None:
    # GIVEN a manifest with many independent mistakes
    text = """
    [project]
    name = "acme"
    regoin = "us-east-1"

    [services.api]
    kind = "lambda"
    path = "/"
    memory = 20000
    timeout = 0

    [services.Worker]
    kind = "lambda"
    path = "/"
    uses = { ghosts = "read", jobs = "write" }

    [services.web]
    kind = "apprunner"
    path = "/web"
    cpu = 1024
    memory = 1024

    [services.odd]
    kind = "fargate"
    path = "/odd"

    [queues.jobs]
    visibility_timeout = "soon"
    """
    # WHEN it is validated
    problems = problems_of(tmp_path, text)
    # THEN each one is named, with file, table and field
    expected = [
        "stratus.toml: project.regoin: unknown field; did you mean 'region'?",
        "stratus.toml: services.api.memory: must be 128–10240 MB (got 20000)",
        "stratus.toml: services.api.timeout: must be 1–900 s (got 0)",
        'stratus.toml: services.odd.kind: must be "lambda", "apprunner" or "ecs-express" (got \'fargate\')',
        "stratus.toml: queues.jobs.visibility_timeout: input should be a valid integer, "
        "unable to parse string as an integer",
        "stratus.toml: services.Worker: service names must be lowercase letters, digits and single hyphens",
        "stratus.toml: services.Worker.path: '/' is already routed to service 'api'",
        "stratus.toml: services.Worker.uses.ghosts: no queue, table, bucket, database or secret named 'ghosts' is "
        "declared (declared: none)",
        "stratus.toml: services.web.memory: App Runner allows memory 2048, 3072, 4096 MB with cpu 1024 (got 1024)",
    ]
    for line in expected:
        assert line in problems
    # jobs failed to parse, so it is not declared: the reference to it is reported too
    assert any(p.startswith("stratus.toml: services.Worker.uses.jobs: no queue") for p in problems)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('[services.api]\nkind = "lambda"\npath = "/api/"', "services.api.path: must be"),
        ('[services.api]\nkind = "lambda"\npath = "/"\nhandler = "nodots"', "services.api.handler: must be a dotted"),
        ('[services.api]\nkind = "lambda"\npath = "/"\nauth = "magic"', "services.api.auth: must be one of"),
        (
            '[services.api]\nkind = "lambda"\npath = "/"\nreserved_concurrency = 5000',
            "services.api.reserved_concurrency: must be 0–1000",
        ),
        (
            '[services.api]\nkind = "lambda"\npath = "/"\nschedules = [{ rate = "1 minutes", handler = "a.b" }]',
            "services.api.schedules.0: rate(1 minutes): use minute when the value is 1",
        ),
        (
            '[services.api]\nkind = "lambda"\npath = "/"\nschedules = [{ cron = "0 12 * * ?", handler = "a.b" }]',
            "services.api.schedules.0: cron(0 12 * * ?): cron needs 6 fields",
        ),
        (
            '[services.api]\nkind = "ecs-express"\npath = "/"\ncpu = 512\nmemory = 512',
            "services.api.memory: ECS Fargate allows memory 1024, 2048, 3072, 4096 MB with cpu 512 (got 512)",
        ),
        (
            '[services.api]\nkind = "apprunner"\npath = "/"\ncpu = 300',
            "services.api.cpu: App Runner cpu must be one of",
        ),
        ("[buckets.my_files]\nversioning = true", "buckets.my_files: names must be lowercase letters, digits and"),
        ("[environments.prod]\nlog_retention_days = 8", "environments.prod: log_retention_days must be one of"),
        ('[servics.api]\nkind = "lambda"', "servics: unknown table; did you mean [services]?"),
    ],
)
def test_a_single_mistake_is_named_by_its_field(tmp_path: Path, snippet: str, expected: str) -> None:
    text = '[project]\nname = "acme"\n' + snippet + "\n"
    problems = problems_of(tmp_path, text)
    assert any(expected in p for p in problems), problems


def test_a_consumer_whose_queue_hides_messages_for_less_than_its_timeout_is_refused_with_awss_rule(
    tmp_path: Path,
) -> None:
    text = (
        MINIMAL
        + """
    timeout = 60
    consumes = [{ queue = "jobs", handler = "api.consumer.handler" }]
    [queues.jobs]
    visibility_timeout = 30
    """
    )
    (problem,) = problems_of(tmp_path, text)
    assert "services.api.consumes[0].queue: Queue visibility timeout: 30 seconds is less than Function timeout: 60" in (
        problem
    )


def test_names_too_long_for_aws_once_prefixed_are_refused(tmp_path: Path) -> None:
    text = """
    [project]
    name = "a-rather-long-project-name"
    [services.the-service-with-a-long-name]
    kind = "apprunner"
    path = "/x"
    """
    problems = problems_of(tmp_path, text)
    assert any("App Runner service names are at most 40 characters" in p for p in problems)


def test_an_invalid_environment_override_is_reported_under_its_environment(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
    [environments.prod]
    services.api.memory = 64
    services.nope.memory = 256
    """
    )
    problems = problems_of(tmp_path, text)
    assert "stratus.toml: environments.prod.services.api.memory: must be 128–10240 MB (got 64)" in problems
    assert "stratus.toml: environments.prod.services.nope: no such service" in problems


def test_resource_names_are_unique_across_kinds(tmp_path: Path) -> None:
    text = MINIMAL + '\n[queues.jobs]\n[tables.jobs]\nhash_key = "id"\n'
    problems = problems_of(tmp_path, text)
    assert any("tables.jobs: the name is also used by queues.jobs" in p for p in problems)


def test_parse_stack_accepts_a_decoded_manifest(tmp_path: Path) -> None:
    stack = parse_stack({"project": {"name": "acme"}}, root=tmp_path)
    assert stack.services == {} and stack.env == "dev"


def test_invalid_toml_is_one_clear_problem(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[project\nname=1")
    assert problem.startswith("stratus.toml: not valid TOML:")


def test_stratus_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    # GIVEN a manifest with two mistakes
    write(tmp_path, MINIMAL + "memory = 1\ntimeout = 901\n")
    # WHEN the user runs `stratus validate`
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    # THEN both are printed, one line each, and the exit code is 2
    assert done.returncode == 2
    assert "stratus.toml: services.api.memory: must be 128–10240 MB (got 1)" in done.stderr
    assert "stratus.toml: services.api.timeout: must be 1–900 s (got 901)" in done.stderr
    assert "Traceback" not in done.stderr


def test_stratus_outside_a_project_says_so_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "no stratus.toml found" in done.stderr
    assert "Traceback" not in done.stderr
