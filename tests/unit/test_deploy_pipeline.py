"""The deploy's sequence and failure handling, with stand-ins for terraform and docker on PATH (they record
their calls) and botocore's Stubber for AWS."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from stratus.build.dockerfiles import render
from stratus.build.images import ImagePlan
from stratus.deploy.pipeline import SMOKE_ATTEMPTS, Deployer, DeployOptions, healthy
from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import parse_stack

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com"

# One script for both tools: it records its name, arguments, working directory and stdin, then behaves as
# the STANDIN_* variables say.
STANDIN = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with open(os.environ["STANDIN_LOG"], "a") as log:
        log.write(json.dumps({{"argv": [name, *args], "cwd": os.getcwd(), "stdin": stdin}}) + "\\n")
    fail = os.environ.get("STANDIN_FAIL", "")
    if fail and " ".join([name, *args]).startswith(fail):
        print(f"{{name}}: failing as asked", file=sys.stderr)
        sys.exit(1)
    if name == "terraform" and args[:1] == ["version"]:
        print(json.dumps({{"terraform_version": os.environ.get("STANDIN_TERRAFORM_VERSION", "1.13.3")}}))
    elif name == "terraform" and args[:1] == ["output"]:
        print(os.environ["STANDIN_ENDPOINT"], end="")
    elif name == "docker" and args[:1] == ["info"]:
        if os.environ.get("STANDIN_DOCKER_DAEMON") == "0":
            print("Cannot connect to the Docker daemon", file=sys.stderr)
            sys.exit(1)
        print("27.3.1")
    """
)


@pytest.fixture
def standins(tmp_path, monkeypatch):
    """terraform and docker stand-ins first on PATH; returns a reader of their recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("terraform", "docker"):
        script = bin_dir / tool
        script.write_text(STANDIN.format(python=sys.executable))
        script.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_LOG", str(log))
    monkeypatch.setenv("STANDIN_ENDPOINT", ENDPOINT)

    def calls() -> list[dict[str, object]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture
def stack(tmp_path):
    raw = {
        "project": {"name": "acme", "region": "us-east-1"},
        "services": {
            "api": {"kind": "lambda", "path": "/api"},
            "web": {"kind": "apprunner", "path": "/web"},
        },
    }
    workdir = tmp_path / "infra" / "terraform"
    (workdir / "environments").mkdir(parents=True)
    (workdir / "environments" / "dev.tfvars").write_text('environment = "dev"\n')
    (workdir / "environments" / "dev.s3.tfbackend").write_text('key = "acme/dev/terraform.tfstate"\n')
    return parse_stack(raw, root=tmp_path)


class AwsStubs:
    """Real boto3 clients with a Stubber each; the deployer asks for them by service name."""

    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            for name in ("sts", "ecr", "apprunner", "logs", "ssm", "lambda")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def __call__(self, name: str):
        return self.clients[name]

    def identity(self) -> None:
        self.stubs["sts"].add_response(
            "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "UserId": "AID"}
        )

    def repository_missing(self) -> None:
        self.stubs["ecr"].add_client_error(
            "describe_repositories",
            "RepositoryNotFoundException",
            expected_params={"repositoryNames": ["acme-dev-web"]},
        )

    def token(self) -> None:
        token = base64.b64encode(b"AWS:s3cr3t-password").decode()
        self.stubs["ecr"].add_response(
            "get_authorization_token", {"authorizationData": [{"authorizationToken": token}]}
        )

    def apprunner(self, *statuses: str) -> None:
        arn = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/acme-dev-web/0123"
        self.stubs["apprunner"].add_response(
            "list_services",
            {"ServiceSummaryList": [{"ServiceName": "acme-dev-web", "ServiceArn": arn},
                                    {"ServiceName": "other-dev-web", "ServiceArn": arn + "x"}]},
        )  # fmt: skip
        for status in statuses:
            service = {
                "ServiceName": "acme-dev-web", "ServiceId": "0" * 32, "ServiceArn": arn, "Status": status,
                "CreatedAt": "2026-11-23T00:00:00Z", "UpdatedAt": "2026-11-23T00:00:00Z",
                "SourceConfiguration": {}, "InstanceConfiguration": {},
                "AutoScalingConfigurationSummary": {}, "NetworkConfiguration": {},
            }  # fmt: skip
            self.stubs["apprunner"].add_response(
                "describe_service", {"Service": service}, expected_params={"ServiceArn": arn}
            )
        if statuses and statuses[-1] == "RUNNING":  # then its log groups get the environment's retention
            for kind in ("application", "service"):
                group = f"/aws/apprunner/acme-dev-web/0123/{kind}"
                self.stubs["logs"].add_response(
                    "put_retention_policy", {}, expected_params={"logGroupName": group, "retentionInDays": 7}
                )

    def assert_done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws():
    return AwsStubs()


class Health:
    """The smoke test's HTTP: answers per path, and records what was asked."""

    def __init__(self, answers: dict[str, int]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.client = httpx.Client(transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        return httpx.Response(self.answers.get(request.url.path, 404))


def _deployer(stack, aws, tmp_path, *, options=None, health=None, sleeps=None):
    def plan_image(stack_, name, *, registry, sha, tag=None):
        context = tmp_path / "images" / name
        context.mkdir(parents=True, exist_ok=True)
        repo = f"{registry}/acme-dev-{name}"
        refs = (f"{repo}:{name}-dev-latest", f"{repo}:{name}-dev-20261123-120000-{sha}")
        return ImagePlan(name, context, render(stack_, name), refs)

    def build_many(names):
        return [SimpleNamespace(service=n, path=tmp_path / f"{n}-0123-python3.13-arm64.zip", from_layers=())
                for n in names]  # fmt: skip

    builder = SimpleNamespace(build_many=build_many)
    return Deployer(
        stack,
        options or DeployOptions(env="dev"),
        client=aws,
        http=(health or Health({"/api/health": 200, "/web/health": 200})).client,
        sleep=(sleeps if sleeps is not None else []).append,
        builder=builder,  # type: ignore[arg-type]
        plan_image=plan_image,
    )


def _argv(calls):
    return [" ".join(call["argv"]) for call in calls]


def test_a_deploy_runs_preflight_build_push_plan_apply_wait_and_smoke_test_in_order(stack, aws, standins, tmp_path):
    # GIVEN valid credentials, an ECR repository still to create, and App Runner that needs a moment
    aws.identity()
    aws.repository_missing()
    aws.token()
    aws.apprunner("OPERATION_IN_PROGRESS", "RUNNING")
    health = Health({"/api/health": 200, "/web/health": 200})
    sleeps: list[float] = []
    # WHEN the whole stack is deployed
    report = _deployer(stack, aws, tmp_path, health=health, sleeps=sleeps).deploy()
    # THEN every step ran, in order, with what the previous one produced
    plan_file = tmp_path / ".stratus" / "deploy" / "dev.tfplan"
    zips = json.dumps({"api": str(tmp_path / "api-0123-python3.13-arm64.zip")})
    tags = json.dumps({"web": "web-dev-20261123-120000-nogit"})
    variables = f"-var-file=environments/dev.tfvars -var lambda_packages={zips} -var image_tags={tags}"
    assert _argv(standins()) == [
        "terraform version -json",
        "docker info --format {{.ServerVersion}}",
        "docker buildx version",
        "terraform init -input=false -reconfigure -backend-config=environments/dev.s3.tfbackend",
        f"terraform apply -input=false -auto-approve -target=module.ecr_web {variables}",
        f"docker login --username AWS --password-stdin {REGISTRY}",
        f"docker buildx build --platform linux/amd64 --file {tmp_path}/images/web/Dockerfile "
        f"--tag {REGISTRY}/acme-dev-web:web-dev-latest --tag {REGISTRY}/acme-dev-web:web-dev-20261123-120000-nogit "
        f"--push {tmp_path}/images/web",
        f"terraform plan -input=false {variables} -out={plan_file}",
        f"terraform apply -input=false {plan_file}",
        "terraform output -raw primary_endpoint",
    ]
    terraform_dirs = {
        call["cwd"] for call in standins() if call["argv"][0] == "terraform" and call["argv"][1] != "version"
    }
    assert terraform_dirs == {str(tmp_path / "infra" / "terraform")}
    login = next(call for call in standins() if call["argv"][:2] == ["docker", "login"])
    assert login["stdin"] == "s3cr3t-password"  # never on the command line
    assert sleeps == [10.0]  # one poll while App Runner was OPERATION_IN_PROGRESS
    assert health.asked == [f"{ENDPOINT}/api/health", f"{ENDPOINT}/web/health"]
    assert report.applied and report.endpoint == ENDPOINT
    assert report.health == {"api": 200, "web": 200}
    aws.assert_done()


def test_plan_only_stops_after_the_plan_and_pushes_nothing(stack, aws, standins, tmp_path):
    aws.identity()
    report = _deployer(stack, aws, tmp_path, options=DeployOptions(env="dev", plan_only=True)).deploy()
    calls = _argv(standins())
    assert [c.split(" -")[0] for c in calls] == ["terraform version", "terraform init", "terraform plan"]
    assert report.planned and not report.applied
    aws.assert_done()  # no ECR, no App Runner


def test_a_failing_plan_stops_the_deploy_before_apply(stack, aws, standins, tmp_path, monkeypatch):
    monkeypatch.setenv("STANDIN_FAIL", "terraform plan")
    aws.identity()
    aws.repository_missing()
    aws.token()
    with pytest.raises(StratusError, match="terraform plan failed with exit code 1"):
        _deployer(stack, aws, tmp_path).deploy()
    calls = _argv(standins())
    assert calls[-1].startswith("terraform plan")
    assert not any(c.startswith("terraform apply -input=false /") for c in calls)
    assert "terraform output -raw primary_endpoint" not in calls
    aws.assert_done()  # App Runner was never asked


def test_a_failing_apply_skips_the_wait_and_the_smoke_test(stack, aws, standins, tmp_path, monkeypatch):
    monkeypatch.setenv("STANDIN_FAIL", f"terraform apply -input=false {tmp_path}")
    aws.identity()
    aws.repository_missing()
    aws.token()
    health = Health({})
    with pytest.raises(StratusError, match="terraform apply failed"):
        _deployer(stack, aws, tmp_path, health=health).deploy()
    assert _argv(standins())[-1] == f"terraform apply -input=false {tmp_path / '.stratus' / 'deploy' / 'dev.tfplan'}"
    assert health.asked == []


def test_every_missing_prerequisite_is_reported_at_once(stack, aws, standins, tmp_path, monkeypatch):
    # GIVEN an old terraform, no docker daemon, no credentials and no rendered Terraform
    monkeypatch.setenv("STANDIN_TERRAFORM_VERSION", "1.10.5")
    monkeypatch.setenv("STANDIN_DOCKER_DAEMON", "0")
    aws.stubs["sts"].add_client_error("get_caller_identity", "InvalidClientTokenId", "The security token is invalid")
    (tmp_path / "infra" / "terraform" / "environments" / "dev.tfvars").unlink()
    # WHEN deploying
    with pytest.raises(PrerequisiteError) as caught:
        _deployer(stack, aws, tmp_path).deploy()
    # THEN one error lists all four, each with how to fix it, and nothing was run beyond the checks
    error = caught.value
    assert error.exit_code == 2
    lines = error.message.splitlines()
    assert lines[0] == "4 prerequisites are missing for the deploy:"
    assert "terraform 1.10.5 is too old (>= 1.11 needed): install Terraform >= 1.11" in lines[1]
    assert "dev.tfvars does not exist: render the Terraform for dev with `stratus infra --env dev`" in lines[2]
    assert "no Docker daemon answers" in lines[3] and "start Docker" in lines[3]
    assert "no usable AWS credentials" in lines[4] and "aws configure" in lines[4]
    assert _argv(standins()) == ["terraform version -json", "docker info --format {{.ServerVersion}}"]


def test_a_machine_without_terraform_or_docker_is_told_to_install_both(stack, aws, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    aws.identity()
    with pytest.raises(PrerequisiteError) as caught:
        _deployer(stack, aws, tmp_path).deploy()
    message = caught.value.message
    assert "2 prerequisites are missing" in message
    assert "terraform is not installed" in message and "developer.hashicorp.com/terraform/install" in message
    assert "docker is not installed" in message and "docs.docker.com/get-docker" in message


def test_an_app_runner_service_that_fails_stops_before_the_smoke_test(stack, aws, standins, tmp_path):
    aws.identity()
    aws.repository_missing()
    aws.token()
    aws.apprunner("CREATE_FAILED")
    health = Health({})
    with pytest.raises(StratusError, match="App Runner service acme-dev-web is CREATE_FAILED"):
        _deployer(stack, aws, tmp_path, health=health).deploy()
    assert "terraform output -raw primary_endpoint" not in _argv(standins())
    assert health.asked == []


def test_a_failing_health_check_fails_the_deploy_after_retries(stack, aws, standins, tmp_path):
    aws.identity()
    aws.repository_missing()
    aws.token()
    aws.apprunner("RUNNING")
    health = Health({"/api/health": 200, "/web/health": 502})
    sleeps: list[float] = []
    with pytest.raises(StratusError) as caught:
        _deployer(stack, aws, tmp_path, health=health, sleeps=sleeps).deploy()
    assert f"web: GET {ENDPOINT}/web/health answered 502" in caught.value.message
    assert "api: GET" not in caught.value.message
    assert health.asked.count(f"{ENDPOINT}/web/health") == SMOKE_ATTEMPTS
    assert len(sleeps) == SMOKE_ATTEMPTS - 1


def test_deploying_one_service_pushes_only_its_image(stack, aws, standins, tmp_path):
    aws.identity()
    report = _deployer(stack, aws, tmp_path, options=DeployOptions(env="dev", services=("api",))).deploy()
    calls = _argv(standins())
    assert not any(c.startswith("docker") for c in calls)  # no image to push: docker is not even checked
    assert report.images == {"web": "web-dev-latest"}  # the other service keeps what it has
    assert report.health == {"api": 200}


def test_health_answers_that_pass():
    assert healthy(200, protected=False) and healthy(204, protected=False)
    assert not healthy(401, protected=False) and not healthy(0, protected=False) and not healthy(500, protected=False)
    assert healthy(401, protected=True) and healthy(403, protected=True) and not healthy(404, protected=True)


def test_an_unknown_service_is_refused(stack, aws, tmp_path):
    with pytest.raises(StratusError, match="no service named nope"):
        _deployer(stack, aws, tmp_path, options=DeployOptions(env="dev", services=("nope",)))


def test_image_build_without_a_docker_daemon_says_so_in_one_line_and_exits_2(stack, standins, tmp_path, monkeypatch):
    (tmp_path / "stratus.toml").write_text(
        '[project]\nname = "acme"\n[services.web]\nkind = "apprunner"\npath = "/web"\n'
    )
    monkeypatch.setenv("STANDIN_DOCKER_DAEMON", "0")
    proc = subprocess.run(
        [sys.executable, "-m", "stratus", "image", "build", "web", "--env", "dev"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error no Docker daemon answers (`docker info` failed): start Docker (Docker Desktop, or "
        "`sudo systemctl start docker`)"
    ]
    assert Path(tmp_path / "calls.jsonl").read_text().count("\n") == 1


# ----------------------------------------------------------------------------------------- the smoke suite


def _with_integration_tests(stack, *services):
    for name in services:
        folder = stack.service_dir(name) / "tests" / "integration"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "test_it.py").write_text("def test_it():\n    pass\n")


class SmokeRuns:
    """The smoke suite's pytest: records each command line and environment, answers with ``code``."""

    def __init__(self, code: int = 0, check=None) -> None:
        self.code = code
        self.check = check
        self.runs: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, argv, environ):
        self.runs.append((argv, environ))
        if self.check is not None:
            self.check(argv, environ)
        return self.code


def test_after_the_health_checks_the_selected_services_smoke_tests_run_against_the_endpoint(
    stack, aws, standins, tmp_path
):
    # GIVEN both services have integration tests; only api is deployed
    _with_integration_tests(stack, "api", "web")
    aws.identity()
    runs = SmokeRuns()
    deployer = _deployer(stack, aws, tmp_path, options=DeployOptions(env="dev", services=("api",)))
    deployer.tests = runs
    # WHEN it is deployed
    report = deployer.deploy()
    # THEN api's integration tests marked smoke ran, once, against the endpoint, with no credential left over
    [(argv, environ)] = runs.runs
    assert argv[1:] == ["-m", "pytest", "services/api/tests/integration", "--stratus-url", ENDPOINT,
                        "--stratus-env", "dev", "-m", "smoke", "-q", "-p", "no:cacheprovider"]  # fmt: skip
    assert "STRATUS_API_KEY" not in environ  # the stack has no authorizer: no key was made
    assert report.smoke_tests == 0


def test_a_failing_smoke_suite_fails_the_deploy_saying_how_to_run_it_again(stack, aws, standins, tmp_path):
    _with_integration_tests(stack, "api")
    aws.identity()
    deployer = _deployer(stack, aws, tmp_path, options=DeployOptions(env="dev", services=("api",)))
    deployer.tests = SmokeRuns(code=1)
    with pytest.raises(StratusError, match=r"smoke suite failed \(pytest exit code 1\)") as caught:
        deployer.deploy()
    assert f"stratus test --against {ENDPOINT} --smoke --env dev" in caught.value.hint


def test_the_smoke_suite_gets_a_short_lived_key_and_invitation_and_the_key_is_revoked_after(tmp_path):
    from moto import mock_aws
    from stratus_common import apikeys, invites

    raw = {
        "project": {"name": "acme", "region": "us-east-1"},
        "services": {
            "gateway": {"kind": "lambda", "path": "/", "uses": {"api_keys": "read"}},
            "idp": {"kind": "lambda", "path": "/auth", "uses": {"accounts": "read-write"}},
            "api": {"kind": "lambda", "path": "/api", "auth": "api_key"},
        },
        "tables": {"api_keys": {"hash_key": "key_id"}, "accounts": {"hash_key": "account_id"}},
    }
    stack = parse_stack(raw, root=tmp_path)
    _with_integration_tests(stack, "api")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for table, key in (("acme-dev-api_keys", "key_id"), ("acme-dev-accounts", "account_id")):
            dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                                  BillingMode="PAY_PER_REQUEST")  # fmt: skip

        def check(argv, environ):
            # WHILE the suite runs, its key is valid and its invitation usable
            key = apikeys.verify_api_key(dynamodb, "acme-dev-api_keys", environ["STRATUS_API_KEY"])
            assert key is not None and key.name == "stratus-deploy-smoke"
            assert invites.find_invite(dynamodb, "acme-dev-accounts", environ["STRATUS_INVITE"]) is not None
            assert environ["STRATUS_API_KEY"] not in argv  # never on the command line

        runs = SmokeRuns(check=check)
        deployer = Deployer(stack, DeployOptions(env="dev"), client=lambda name: dynamodb, tests=runs,
                            progress=lambda _m: None)  # fmt: skip
        assert deployer.smoke_suite(ENDPOINT) == 0
        # THEN after it, the key no longer works
        [(_, environ)] = runs.runs
        assert apikeys.verify_api_key(dynamodb, "acme-dev-api_keys", environ["STRATUS_API_KEY"]) is None


def test_a_layer_that_does_not_hold_the_locked_versions_stops_the_deploy_before_terraform(aws, standins, tmp_path):
    # GIVEN zips built with [project] powertools = "layer", and AWS's layer holding another pydantic
    from tests.unit.test_deploy_layers import ARN, PARAMETER, layer_zip

    (tmp_path / "uv.lock").write_text('version = 1\n[[package]]\nname = "aws-lambda-powertools"\nversion = "3.37.0"\n')
    workdir = tmp_path / "infra" / "terraform" / "environments"
    workdir.mkdir(parents=True)
    (workdir / "dev.tfvars").write_text('environment = "dev"\n')
    stack = parse_stack(
        {"project": {"name": "acme", "region": "us-east-1", "powertools": "layer"},
         "services": {"api": {"kind": "lambda", "path": "/api"}}},
        root=tmp_path,
    )  # fmt: skip
    layer = layer_zip(aws_lambda_powertools="3.37.0", pydantic="2.11.7")
    aws.identity()
    aws.stubs["ssm"].add_response("get_parameter", {"Parameter": {"Value": ARN}}, expected_params={"Name": PARAMETER})
    sha = base64.b64encode(hashlib.sha256(layer).digest()).decode()
    aws.stubs["lambda"].add_response(
        "get_layer_version_by_arn",
        {"Content": {"Location": "https://layers.example/p.zip", "CodeSha256": sha}},
        expected_params={"Arn": ARN},
    )
    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=layer)))
    pins = ("aws-lambda-powertools==3.37.0", "pydantic==2.12.5")
    builder = SimpleNamespace(
        build_many=lambda names: [SimpleNamespace(service=n, path=tmp_path / f"{n}.zip", from_layers=pins)
                                  for n in names]
    )  # fmt: skip
    deployer = Deployer(stack, DeployOptions(env="dev"), client=aws, http=http, builder=builder)  # type: ignore[arg-type]
    # WHEN it deploys THEN it stops, naming the difference, before Terraform changes anything
    with pytest.raises(StratusError, match=r"pydantic is 2\.11\.7 in it, 2\.12\.5 in uv\.lock \(api\)"):
        deployer.deploy()
    assert _argv(standins()) == ["terraform version -json"]
    aws.assert_done()
