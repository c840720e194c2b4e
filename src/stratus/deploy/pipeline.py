"""``stratus deploy``: preflight, build, push, Terraform, wait, smoke test, in that order.

1. **preflight** (:mod:`stratus.deploy.preflight`): terraform >= 1.11, AWS credentials (STS
   GetCallerIdentity), the region, the rendered Terraform for the environment, and, when images are pushed,
   a Docker daemon with buildx. All missing prerequisites are reported together (exit 2).
2. **build**: the zip of every Lambda service (cached builds cost nothing), for its manifest target; with
   ``[project] powertools = "layer"``, AWS's Powertools layer must hold what the zips left out for it at the
   versions of uv.lock (:mod:`stratus.deploy.layers`), or the deploy stops.
3. **terraform init** with the environment's backend (``environments/<env>.s3.tfbackend``).
4. **push**: the image of each selected container service, to its ECR repository, after a ``docker login``
   with an ECR authorization token. A repository that does not exist yet (first deploy) is created first
   with ``terraform apply -target=module.ecr_<service>``. Unselected services keep ``<svc>-<env>-latest``.
5. **plan** ``-var-file=environments/<env>.tfvars -var lambda_packages=... -var image_tags=... -out=<plan>``,
   then **apply** of that saved plan. ``--plan`` stops after the plan, and pushes nothing (a plan changes
   nothing, so it does not push images either: the plan shows the tags a deploy would push).
6. **migrate** (:mod:`stratus.deploy.migrate`): each service's ``migrations`` function is invoked, in AWS,
   inside the VPC; a failure stops the deploy.
7. **wait**: every selected App Runner service until ``RUNNING`` (App Runner deploys take minutes).
8. **smoke test**: ``GET <primary_endpoint><service path>/health`` of each selected service answers 2xx
   (401/403 for a service behind the gateway's authorizer: routed and protected), retried while the API comes
   up; then the fast part of the parity suite, the selected services' integration tests marked ``smoke``, runs
   against the endpoint (``stratus test --against URL --smoke``), with an API key and a registration invitation
   made for it in the deployed tables (the key revoked after, the invitation single-use and short-lived).

A failing step stops the deploy: nothing after it runs. Side effects are injected (``run`` for
subprocesses, ``client`` for boto3 clients, ``http`` for the health checks, ``tests`` for the smoke suite's
pytest, ``sleep``, the builder and the image planner), so the sequence is tested with stand-ins for terraform,
docker and AWS.
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import httpx

from stratus import paths
from stratus.build.images import Docker, ImagePlan, git_sha, plan_image, registry_host, repository_name
from stratus.build.package import Builder, BuildOptions
from stratus.deploy import preflight
from stratus.deploy.layers import check_layers
from stratus.deploy.migrate import migration_functions, run_migrations
from stratus.deploy.terraform import Terraform, deploy_variables
from stratus.errors import StratusError
from stratus.manifest import Stack

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
TestRunner = Callable[[list[str], dict[str, str]], int]  # argv, environment -> pytest's exit code
ClientFactory = Callable[[str], Any]
RUNNING_TIMEOUT_S = 20 * 60.0
RUNNING_POLL_S = 10.0
SMOKE_ATTEMPTS = 6
SMOKE_PAUSE_S = 5.0
SMOKE_CREDENTIALS_S = 15 * 60  # the smoke suite's API key and invitation expire after this
FAILED_STATES = frozenset({"CREATE_FAILED", "DELETE_FAILED", "DELETED", "PAUSED"})


@dataclass(frozen=True)
class DeployOptions:
    env: str
    services: tuple[str, ...] = ()  # empty: every service
    plan_only: bool = False
    tag: str | None = None


@dataclass
class DeployReport:
    zips: dict[str, Path] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # service -> the tag Terraform deploys
    planned: bool = False
    applied: bool = False
    endpoint: str | None = None
    health: dict[str, int] = field(default_factory=dict)
    smoke_tests: int | None = None  # pytest's exit code of the smoke suite (None: no integration tests)
    migrations: dict[str, Any] = field(default_factory=dict)  # function -> what its migrations answered
    layers: dict[str, str] = field(default_factory=dict)  # SSM parameter -> the layer version ARN checked


class Deployer:
    def __init__(
        self,
        stack: Stack,
        options: DeployOptions,
        *,
        run: Runner | None = None,
        client: ClientFactory | None = None,
        http: httpx.Client | None = None,
        tests: TestRunner | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[str], None] | None = None,
        builder: Builder | None = None,
        plan_image: Callable[..., ImagePlan] = plan_image,
        workdir: Path | None = None,
    ) -> None:
        self.stack = stack
        self.options = options
        self.run = run or subprocess.run
        self.client = client or boto3.session.Session(region_name=stack.project.region).client
        self.http = http
        self.tests = tests or _run_pytest
        self.sleep = sleep
        self.progress = progress or (lambda _msg: None)
        self.builder = builder or Builder(stack, BuildOptions(), progress=self.progress)
        self.plan_image = plan_image
        self.docker = Docker(self.run)
        self.workdir = workdir or paths.infra_dir(stack.root)
        self.terraform = Terraform(self.workdir, run=self.run)
        unknown = [s for s in options.services if s not in stack.services]
        if unknown:
            raise StratusError(
                f"no service named {', '.join(unknown)} in {stack.manifest_path.name}",
                hint=f"services: {', '.join(stack.services)}",
            )

    @property
    def selected(self) -> list[str]:
        return list(self.options.services) or list(self.stack.services)

    def _image_services(self, only_selected: bool) -> list[str]:
        """Services shipped as images: containers, and Lambdas with ``package = "image"``."""
        names = self.selected if only_selected else list(self.stack.services)
        return [n for n in names if self.stack.plan.services[n].image]

    # ----------------------------------------------------------------------------------------------- run

    def deploy(self) -> DeployReport:
        report = DeployReport()
        env = self.options.env
        identity = self.preflight()
        self.progress("build: Lambda zips")
        zipped = [name for name, svc in self.stack.plan.services.items() if svc.kind == "lambda" and not svc.image]
        pins: dict[str, tuple[str, ...]] = {}
        for result in self.builder.build_many(zipped):
            report.zips[result.service] = result.path
            if result.from_layers:
                pins[result.service] = result.from_layers
        if pins:
            self.progress("layers: AWS's Powertools layer against uv.lock")
            report.layers = self.check_layers(pins)
        registry = registry_host(identity.account, self.stack.project.region)
        sha = git_sha(self.stack.root)
        images: list[ImagePlan] = []
        for name in self._image_services(only_selected=False):
            if name in self._image_services(only_selected=True):
                plan = self.plan_image(self.stack, name, registry=registry, sha=sha, tag=self.options.tag)
                images.append(plan)
                report.images[name] = plan.tag
            else:
                report.images[name] = f"{name}-{env}-latest"
        variables = deploy_variables(report.zips, report.images)
        var_file = f"environments/{env}.tfvars"
        backend = f"environments/{env}.s3.tfbackend"
        self.progress(f"terraform init ({self.workdir})")
        self.terraform.init(backend_config=backend if (self.workdir / backend).exists() else None)
        if images and not self.options.plan_only:
            missing = self.missing_repositories([plan.service for plan in images])
            if missing:
                self.progress(f"terraform: creating the ECR repositories of {', '.join(missing)}")
                self.terraform.apply_targets(
                    [f"module.ecr_{n}" for n in missing], var_file=var_file, variables=variables
                )
            self.login(registry)
            for plan in images:
                self.progress(f"push: {plan.versioned}")
                self.docker.build(plan, push=True)
        plan_file = paths.deploy_dir(self.stack.root) / f"{env}.tfplan"
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        self.progress("terraform plan")
        self.terraform.plan(var_file=var_file, variables=variables, out=plan_file)
        report.planned = True
        if self.options.plan_only:
            return report
        self.progress("terraform apply")
        self.terraform.apply(plan_file)
        report.applied = True
        if migration_functions(self.stack):
            report.migrations = run_migrations(self.stack, self.client("lambda"), progress=self.progress)
        self.keep_apprunner_logs(self.wait_for_apprunner())
        report.endpoint = self.terraform.output("primary_endpoint")
        report.health = self.smoke_test(report.endpoint)
        report.smoke_tests = self.smoke_suite(report.endpoint)
        return report

    def check_layers(self, pins: dict[str, tuple[str, ...]]) -> dict[str, str]:
        """Refuse to deploy unless the managed layers hold what the zips left out for them, at the lock's versions."""
        http = self.http or httpx.Client(timeout=30.0)
        try:
            return check_layers(
                self.stack, pins, ssm=self.client("ssm"), lambda_=self.client("lambda"), http=http,
                cache=paths.deploy_dir(self.stack.root) / "layers",
            )  # fmt: skip
        finally:
            if http is not self.http:
                http.close()

    def preflight(self) -> preflight.Identity:
        missing: list[preflight.Missing] = []
        for check in (
            preflight.check_terraform(self.run),
            preflight.check_region(self.stack.project.region, _known_regions()),
            preflight.check_infra(self.workdir, self.options.env),
        ):
            if check:
                missing.append(check)
        if self._image_services(only_selected=True) and not self.options.plan_only:
            docker = preflight.check_docker(self.docker)
            if docker:
                missing.append(docker)
        identity, credentials = preflight.check_credentials(self.client("sts"))
        if credentials:
            missing.append(credentials)
        preflight.raise_missing(missing)
        assert identity is not None
        return identity

    def image(self, service: str, *, push: bool) -> ImagePlan:
        """Build ``service``'s image (``stratus image build``) and, with ``push``, push it to its ECR repository,
        which ``stratus deploy`` must have created; the plan says which references it got."""
        self.docker.require()
        registry = None
        if push:
            identity, missing = preflight.check_credentials(self.client("sts"))
            preflight.raise_missing([missing] if missing else [])
            assert identity is not None
            registry = registry_host(identity.account, self.stack.project.region)
            if self.missing_repositories([service]):
                raise StratusError(
                    f"the ECR repository {repository_name(self.stack, service)} does not exist yet",
                    hint=f"`stratus deploy --env {self.options.env}` creates it "
                    f"(terraform apply -target=module.ecr_{service})",
                )
            self.login(registry)
        plan = self.plan_image(
            self.stack, service, registry=registry, sha=git_sha(self.stack.root), tag=self.options.tag
        )
        self.progress(f"building {service} ({plan.dockerfile.name}, {plan.dockerfile.platform})")
        self.docker.build(plan, push=push)
        return plan

    def missing_repositories(self, services: list[str]) -> list[str]:
        """The services whose ECR repository does not exist yet."""
        ecr = self.client("ecr")
        missing = []
        for name in services:
            try:
                ecr.describe_repositories(repositoryNames=[repository_name(self.stack, name)])
            except ecr.exceptions.RepositoryNotFoundException:
                missing.append(name)
        return missing

    def login(self, registry: str) -> None:
        token = self.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
        username, _, password = base64.b64decode(token).decode().partition(":")
        self.docker.login(registry, username, password)

    def wait_for_apprunner(self) -> dict[str, str]:
        """Wait until every App Runner service deployed is RUNNING; their ARNs by AWS name."""
        names = {self.stack.plan.services[n].aws_name: n for n in self._image_services(only_selected=True)
                 if self.stack.services[n].kind == "apprunner"}  # fmt: skip
        if not names:
            return {}
        apprunner = self.client("apprunner")
        arns: dict[str, str] = {}
        kwargs: dict[str, str] = {}
        while True:  # ListServices has no paginator in botocore
            page = apprunner.list_services(**kwargs)
            for summary in page["ServiceSummaryList"]:
                if summary["ServiceName"] in names:
                    arns[summary["ServiceName"]] = summary["ServiceArn"]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        missing = sorted(set(names) - set(arns))
        if missing:
            raise StratusError(f"App Runner has no service named {', '.join(missing)} after the apply")
        waited = 0.0
        pending = dict(arns)
        while pending:
            for name, arn in list(pending.items()):
                status = apprunner.describe_service(ServiceArn=arn)["Service"]["Status"]
                if status == "RUNNING":
                    self.progress(f"App Runner {name}: RUNNING")
                    del pending[name]
                elif status in FAILED_STATES:
                    raise StratusError(
                        f"App Runner service {name} is {status}",
                        hint=f"see its events and logs: `stratus logs {names[name]} --aws --env {self.options.env}`",
                    )
            if not pending:
                return arns
            if waited >= RUNNING_TIMEOUT_S:
                raise StratusError(f"App Runner services still not RUNNING after {waited:.0f} s: {', '.join(pending)}")
            self.sleep(RUNNING_POLL_S)
            waited += RUNNING_POLL_S
        return arns

    def keep_apprunner_logs(self, arns: dict[str, str]) -> None:
        """Give the log groups App Runner creates itself the environment's retention: App Runner offers no way to
        set it (aws/apprunner-roadmap#97) and names them after the service's id, known only once it exists."""
        if not arns:
            return
        logs = self.client("logs")
        days = self.stack.log_retention_days
        for name, arn in sorted(arns.items()):
            service_id = arn.rsplit("/", 1)[-1]
            for kind in ("application", "service"):
                group = f"/aws/apprunner/{name}/{service_id}/{kind}"
                try:
                    logs.put_retention_policy(logGroupName=group, retentionInDays=days)
                except logs.exceptions.ResourceNotFoundException:
                    continue  # not written to yet: the next deploy sets it
        self.progress(f"App Runner logs kept {days} days")

    def smoke_test(self, endpoint: str) -> dict[str, int]:
        if not endpoint:
            raise StratusError("terraform output primary_endpoint is empty: cannot smoke-test the services")
        http = self.http or httpx.Client(timeout=15.0)
        results: dict[str, int] = {}
        failures: list[str] = []
        try:
            for name in self.selected:
                svc = self.stack.services[name]
                url = f"{endpoint.rstrip('/')}{svc.path.rstrip('/')}/health"
                status = 0
                for attempt in range(SMOKE_ATTEMPTS):
                    try:
                        status = http.get(url).status_code
                    except httpx.HTTPError:
                        status = 0
                    if healthy(status, protected=svc.auth != "none"):
                        break
                    if attempt + 1 < SMOKE_ATTEMPTS:
                        self.sleep(SMOKE_PAUSE_S)
                results[name] = status
                if healthy(status, protected=svc.auth != "none"):
                    self.progress(f"smoke test {name}: {status}")
                else:
                    failures.append(f"{name}: GET {url} answered {status or 'nothing'}")
        finally:
            if self.http is None:
                http.close()
        if failures:
            raise StratusError(
                "the deploy is applied but the smoke test failed:\n  " + "\n  ".join(failures),
                hint=f"look at the service's logs: `stratus logs SERVICE --aws --env {self.options.env}`",
            )
        return results

    def smoke_suite(self, endpoint: str) -> int | None:
        """Run the selected services' integration tests marked ``smoke`` against ``endpoint``; None when there
        are none. Raise :class:`StratusError` when one fails."""
        from stratus.deploy.testrun import Against, pytest_argv

        against = Against(endpoint, smoke=True)  # the credentials travel in the environment, not in argv
        try:
            quiet = ["-q", "-p", "no:cacheprovider"]
            argv = pytest_argv(self.stack, service=self.selected, against=against, extra=quiet)
        except StratusError:
            self.progress("smoke suite: no integration tests in the deployed services")
            return None
        key, invite = self._smoke_credentials()
        against = replace(against, api_key=key.plaintext if key else None, invite=invite)
        self.progress(f"smoke suite: {' '.join(argv[3:])}")
        try:
            code = self.tests(argv, against.environ())
        finally:
            if key is not None:
                from stratus_common import apikeys

                from stratus.deploy.apikeys import table_name

                apikeys.revoke_api_key(self.client("dynamodb"), table_name(self.stack), key.key.key_id)
        if code not in (0, 5):  # 5: pytest collected nothing (no test is marked smoke)
            raise StratusError(
                f"the deploy is applied but the smoke suite failed (pytest exit code {code})",
                hint=f"its output is above; again: stratus test --against {endpoint} --smoke --env {self.options.env}",
            )
        return code

    def _smoke_credentials(self) -> tuple[Any, str | None]:
        """An API key (when an authorizer takes keys) and a registration invitation (when an idp keeps accounts),
        made in the deployed tables for the smoke suite."""
        from stratus_common import apikeys, invites

        from stratus.deploy import accounts
        from stratus.deploy import apikeys as deployed_keys

        key = invite = None
        keys_table = accounts_table = None
        with contextlib.suppress(StratusError):
            keys_table = deployed_keys.table_name(self.stack)
        with contextlib.suppress(StratusError):
            accounts_table = accounts.table_name(self.stack)
        if keys_table is not None:
            key = apikeys.create_api_key(
                self.client("dynamodb"), keys_table, name="stratus-deploy-smoke", expires_in=SMOKE_CREDENTIALS_S
            )
        if accounts_table is not None:
            invite = invites.create_invite(self.client("dynamodb"), accounts_table, expires_in=SMOKE_CREDENTIALS_S).code
        return key, invite


def _run_pytest(argv: list[str], environ: dict[str, str]) -> int:
    return subprocess.run(argv, env=environ, check=False).returncode


def healthy(status: int, *, protected: bool) -> bool:
    """A health answer that passes: 2xx; for a service behind the authorizer, 401/403 (routed, protected)."""
    return 200 <= status < 300 or (protected and status in (401, 403))


def _known_regions() -> list[str]:
    try:
        return boto3.session.Session().get_available_regions("lambda")
    except Exception:  # the list is only a spelling check
        return []
