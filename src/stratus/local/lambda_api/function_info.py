"""What Lambda's control plane says of a function: GetFunctionConfiguration, GetFunction and ListFunctions,
in the shapes of the Lambda API reference (botocore's ``lambda`` service model), from the plan's facts.

Each function is described as the Terraform (``infra/modules/lambda-service``) creates it: the manifest's
runtime, handler, memory, timeout and architecture; its service's role (``arn:aws:iam::ACCOUNT:role/NAME``, the
role the local IAM holds); ``Environment.Variables`` the variables the plan declares, with the values the
function runs with here (not the local machine's, nor the platform's own); tracing ``Active``; the
asynchronous dead-letter queue; the log group ``/aws/lambda/NAME``. State is ``Active``, LastUpdateStatus
``Successful``. Locally: ``LastModified`` is when the API started; ``Code.Location`` is a ``file://`` URL of
the code's directory (AWS: a presigned S3 URL of the zip); ``CodeSize`` and ``CodeSha256`` describe no zip
and are left out, as is ``VpcConfig``.

ListFunctions returns at most 50 functions a page, whatever MaxItems asks, with an opaque ``NextMarker``
(DOC https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html); ``FunctionVersion=ALL`` adds the
published version of a function with an alias.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stratus import naming

if TYPE_CHECKING:
    from stratus.local.runtime.function import LambdaFunction
    from stratus.manifest.functions import Function
    from stratus.manifest.plan import Plan, ServicePlan

PAGE_LIMIT = 50  # ListFunctions' most per response
PUBLISHED_VERSION = "1"  # locally, the one version an alias points at
EPHEMERAL_STORAGE_MB = 512  # Lambda's default /tmp, which the module does not change


class BadMarker(ValueError):
    """A ListFunctions Marker this API did not give out."""


@dataclass(frozen=True)
class Facts:
    """What the plan says of one function."""

    function: Function
    service: ServicePlan

    @property
    def alias(self) -> str | None:
        return self.function.alias


def facts(plan: Plan | None, name: str) -> Facts | None:
    """The plan's facts about the function whose AWS name is ``name``."""
    if plan is None:
        return None
    for service in plan.services.values():
        for function in service.functions:
            if function.name == name:
                return Facts(function, service)
    return None


class Describer:
    """Describes the stack's functions in Lambda's shapes."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account
        self.started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"

    def configuration(self, function: LambdaFunction, info: Facts | None, version: str = "$LATEST") -> dict[str, Any]:
        config = function.config
        arn = naming.lambda_arn(self.region, self.account, config.name)
        out: dict[str, Any] = {
            "FunctionName": config.name,
            "FunctionArn": arn if version == "$LATEST" else f"{arn}:{version}",
            "Handler": config.handler,
            "Description": "",
            "Timeout": config.timeout,
            "MemorySize": config.memory,
            "LastModified": self.started,
            "Version": version,
            "TracingConfig": {"Mode": "Active"},
            "RevisionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}:{version}:{self.started}")),
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "EphemeralStorage": {"Size": EPHEMERAL_STORAGE_MB},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": config.log_group},
        }
        if info is None:
            return out
        fn, service = info.function, info.service
        out["Runtime"] = fn.runtime
        out["Role"] = f"arn:aws:iam::{self.account}:role/{service.role_name}"
        out["Description"] = fn.description
        out["Architectures"] = [fn.arch]
        variables = {key: config.environ[key] for key in service.environment if key in config.environ}
        if variables:
            out["Environment"] = {"Variables": variables}
        prefix = config.name[: len(config.name) - len(fn.suffix)]
        dlq = prefix + naming.suffixed(service.name, "async_dlq")
        out["DeadLetterConfig"] = {"TargetArn": naming.queue_arn(self.region, self.account, dlq)}
        if service.image:  # AWS gets the code as an image: no runtime, the handler is the image's command
            out["PackageType"] = "Image"
            out["ImageConfigResponse"] = {"ImageConfig": {"Command": [config.handler]}}
            del out["Runtime"], out["Handler"]
        return out

    def function(self, function: LambdaFunction, info: Facts | None, version: str = "$LATEST") -> dict[str, Any]:
        """GetFunction's answer."""
        out: dict[str, Any] = {
            "Configuration": self.configuration(function, info, version),
            "Code": {"RepositoryType": "S3", "Location": function.config.task_root.resolve().as_uri()},
        }
        if info is not None and info.service.image:
            out["Code"] = {"RepositoryType": "ECR"}
        reserved = function.config.reserved_concurrency
        if reserved is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return out

    def page(
        self, entries: list[tuple[LambdaFunction, Facts | None]], marker: str | None, max_items: int | None, *,
        every_version: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """One page of ListFunctions, in name order."""
        rows: list[tuple[str, LambdaFunction, Facts | None, str]] = []
        for function, info in entries:
            rows.append((function.config.name, function, info, "$LATEST"))
            if every_version and info is not None and info.alias:
                rows.append((function.config.name, function, info, PUBLISHED_VERSION))
        rows.sort(key=lambda row: (row[0], row[3] != "$LATEST", row[3]))
        start = 0
        if marker:
            start = _unmark(marker)
            if start > len(rows):
                raise BadMarker(marker)
        size = min(max_items or PAGE_LIMIT, PAGE_LIMIT)
        chosen = rows[start : start + size]
        out: dict[str, Any] = {"Functions": [self.configuration(f, i, v) for _, f, i, v in chosen]}
        if start + size < len(rows):
            out["NextMarker"] = _mark(start + size)
        return out


def _mark(index: int) -> str:
    return base64.urlsafe_b64encode(f"stratus:{index}".encode()).decode()


def _unmark(marker: str) -> int:
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
        kind, _, index = text.partition(":")
        if kind != "stratus" or not index.isdigit():
            raise BadMarker(marker)
        return int(index)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadMarker(marker) from None
