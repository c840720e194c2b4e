"""``[project] powertools = "layer"``: the plan attaches AWS's Powertools layer of the locked version to each zip
function, and the Terraform reads its ARN from the public SSM parameter the plan names, per environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from stratus.errors import StratusError
from stratus.infra.render import render
from stratus.manifest import parse_stack
from stratus.manifest.layers import POWERTOOLS_LAYER_DISTRIBUTIONS, locked_version
from tests.infra.helpers import REFERENCE, module_block, one, parse, stacks_from

LOCK = """
version = 1
requires-python = ">=3.11"

[[package]]
name = "aws-lambda-powertools"
version = "3.37.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pydantic"
version = "2.12.5"
source = { registry = "https://pypi.org/simple" }
"""


def _raw(powertools: str = "layer") -> dict[str, Any]:
    raw = tomllib.loads((REFERENCE / "stratus.toml").read_text())
    raw["project"]["powertools"] = powertools
    raw.setdefault("environments", {}).setdefault("prod", {}).setdefault("services", {})["gateway"] = {"arch": "x86_64"}
    return raw


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "uv.lock").write_text(LOCK)
    return tmp_path


def test_each_zip_function_gets_the_layer_of_the_locked_version_for_its_arch(root: Path) -> None:
    dev = parse_stack(_raw(), root=root, env="dev")
    prod = parse_stack(_raw(), root=root, env="prod")
    for fn in dev.plan.services["worker"].functions:  # http, consumer, schedule: one package, one layer
        assert [layer.parameter for layer in fn.layers] == ["/aws/service/powertools/python/arm64/python3.13/3.37.0"]
    (layer,) = prod.plan.services["gateway"].function("http").layers
    assert layer.parameter == "/aws/service/powertools/python/x86_64/python3.13/3.37.0"
    assert {"pydantic", "pydantic-core", "aws-lambda-powertools"} <= layer.distributions
    assert not {"jmespath", "urllib3", "boto3"} & layer.distributions  # AWS deletes them: the runtime has them
    # an image carries its own packages: no layer
    assert dev.plan.services["records"].image
    assert all(not fn.layers for fn in dev.plan.services["records"].functions)


def test_bundled_by_default(root: Path) -> None:
    raw = _raw()
    del raw["project"]["powertools"]
    stack = parse_stack(raw, root=root, env="dev")
    assert all(not fn.layers for svc in stack.plan.services.values() for fn in svc.functions)


def test_a_lock_without_powertools_is_an_error_that_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text(LOCK.split("[[package]]")[0])
    stack = parse_stack(_raw(), root=tmp_path, env="dev")  # what needs no layer (stratus dev) needs no lock
    with pytest.raises(StratusError, match=r'powertools = "layer".*pins no single version of') as caught:
        render(stacks_from(_raw(), tmp_path))
    with pytest.raises(StratusError, match=r"pins no single version of aws-lambda-powertools"):
        _ = stack.plan.services["gateway"].function("http").layers[0].parameter
    assert caught.value.hint is not None and '"bundle"' in caught.value.hint


def test_locked_version_reads_the_lock_again_when_it_changes(root: Path) -> None:
    lock = root / "uv.lock"
    assert locked_version(lock, "pydantic") == "2.12.5"
    lock.write_text(LOCK.replace("2.12.5", "2.14.3") + "\n")
    assert locked_version(lock, "pydantic") == "2.14.3"
    assert locked_version(lock, "flask") is None
    assert locked_version(root / "missing.lock", "pydantic") is None


def test_the_terraform_reads_each_environments_layer_arn_from_ssm(root: Path) -> None:
    files = render(stacks_from(_raw(), root))
    worker = module_block(files["lambda-worker.tf"], "lambda_worker")
    assert worker["layer_parameters"] == ["/aws/service/powertools/python/arm64/python3.13/3.37.0"]
    # the gateway runs on x86_64 in prod: its parameter is chosen by var.environment
    text = files["lambda-gateway.tf"]
    assert module_block(text, "lambda_gateway")["layer_parameters"] == "${local.gateway_settings.layer_parameters}"
    assert re.search(r'prod = \{[^}]*layer_parameters\s*=\s*\["/aws/service/powertools/python/x86_64/', text, re.S)
    assert "layer_parameters" not in module_block(files["lambda-records.tf"], "lambda_records")  # an image
    module = parse(files["modules/lambda-service/main.tf"])
    data = {name: body for block in module["data"] for kind, named in block.items() for name, body in named.items()
            if kind == "aws_ssm_parameter"}  # fmt: skip
    assert set(data) == {"layer"}
    function = next(
        body for block in module["resource"] for kind, named in block.items() for name, body in named.items()
        if kind == "aws_lambda_function"
    )  # fmt: skip
    assert "data.aws_ssm_parameter.layer[name].insecure_value" in one(function["layers"])


def test_without_the_layer_the_terraform_is_unchanged(root: Path) -> None:
    files = render(stacks_from(_raw("bundle"), root))
    assert not any("layer_parameters" in text for path, text in files.items() if not path.startswith("modules/"))


def test_the_layers_distributions_are_powertools_all_and_what_it_needs() -> None:
    # aws-lambda-powertools' own METADATA, as installed here: every distribution its [all] extra requires is listed
    from importlib.metadata import requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    extras = [Requirement(r) for r in requires("aws-lambda-powertools") or []]
    needed = {str(canonicalize_name(r.name)) for r in extras if r.marker is None or r.marker.evaluate({"extra": "all"})}
    deleted_by_aws = {"jmespath", "urllib3", "boto3", "botocore"}  # layer_v3/docker/Dockerfile: the runtime has them
    assert needed <= POWERTOOLS_LAYER_DISTRIBUTIONS | deleted_by_aws
    assert {"jmespath", "urllib3"} <= needed
