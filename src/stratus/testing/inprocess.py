"""One service in the test's own process, when the whole stack is not needed (the ``stratus_service`` fixture).

The service's app gets exactly the environment the stack gives it (:func:`stratus.local.environ.service_environ`:
its tables', queues', buckets' and secrets' names, its ``env``), and an AWS of its own: moto's in-process mock,
provisioned from the manifest as the local cloud provisions its moto server (one DynamoDB request at a time, as
AWS makes each atomic). Requests go through a TestClient, arriving as API Gateway hands them over once the
authorizer let ``caller`` in (:func:`stratus_common.testing.client_for`). A service that uses a database needs
the whole stack (``stratus_cloud``): there is no PostgreSQL here.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from typing import TYPE_CHECKING, Any

import boto3

from stratus import naming
from stratus.errors import StratusError
from stratus.local.aws import LocalAws, Provisioned
from stratus.local.logs import LogSink

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pytest

    from stratus.manifest import Stack

__all__ = ["InProcess", "MockedAws", "provision"]


class MockedAws(LocalAws):
    """The local cloud's provisioning, against moto in this process instead of a moto server."""

    def client(self, service: str, credentials: Mapping[str, str] | None = None) -> Any:
        keys = {k.lower(): v for k, v in (credentials or naming.LOCAL_CREDENTIALS).items()}
        return boto3.client(service, region_name=self.region, **keys)  # type: ignore[call-overload]


def provision(stack: Stack, databases: dict[str, str] | None = None) -> Provisioned:
    """Create what ``stack`` declares in moto's in-process AWS (call it inside ``mock_aws()``)."""
    from stratus.local.secrets import random_value

    values = {name: random_value(s.spec.generate or 64) for name, s in stack.plan.secrets.items()}
    aws = MockedAws(LogSink(io.StringIO()), stack.project.region)
    return aws.provision_now(stack.plan, databases or {}, values)


class InProcess:
    """The services of one test, in its process: ``services.client(name, caller)`` (the ``stratus_service``
    fixture's function). moto starts with the first, for the rest of the test; later ones share it."""

    def __init__(self, stack: Stack, patch: pytest.MonkeyPatch) -> None:
        self.stack = stack
        self.patch = patch
        self.exits = contextlib.ExitStack()
        self.provisioned: Provisioned | None = None

    def close(self) -> None:
        self.exits.close()

    def _start(self) -> Provisioned:
        from stratus_common import testing

        if self.provisioned is None:
            self.exits.enter_context(testing.clean_environment(self.patch))
            self.exits.enter_context(testing.mocked_aws(self.patch))
            testing.serialise_moto_dynamodb(self.patch)
            self.provisioned = provision(self.stack)
        return self.provisioned

    def client(self, name: str, caller: Any = None, *, kind: str = "user") -> Any:
        """A TestClient of service ``name``'s app (``<package>.main:app``), with its environment set in this
        process; requests arrive from ``caller`` (None: through no authorizer)."""
        from stratus_common import testing

        from stratus.local.environ import Endpoints, service_environ

        stack = self.stack
        if name not in stack.services:
            raise StratusError(f"no service {name!r} in {stack.manifest_path.name}", hint=", ".join(stack.services))
        databases = [b.name for b in stack.plan.services[name].bindings if b.kind == "database"]
        if databases:
            raise StratusError(
                f"service {name!r} uses the database {databases[0]!r}, which an in-process service does not get",
                hint="test it through the whole stack: the stratus_cloud fixture",
            )
        endpoints = Endpoints(aws="", invoke="", api="http://testserver", provisioned=self._start())
        for key, value in service_environ(stack, name, endpoints).items():
            if key not in _KEEP:
                self.patch.setenv(key, value)
        self.patch.syspath_prepend(str(stack.service_dir(name)))
        testing.forget_caches()
        lambdas = dict(stack.lambdas())
        module = stack.handler(name).rpartition(".")[0] if name in lambdas else f"{naming.package_name(name)}.main"
        app = importlib.import_module(module).app
        return testing.client_for(app, caller, kind=kind)


_KEEP = frozenset({"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "PATH", "HOME", "TMPDIR", "VIRTUAL_ENV"})
"""Not taken from the stack's environment: moto intercepts AWS in this process; the shell's basics stay."""
