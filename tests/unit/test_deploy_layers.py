"""stratus.deploy.layers: before a deploy applies, AWS's Powertools layer must hold what the zips left out for it at
uv.lock's versions. SSM and Lambda through botocore's Stubber (no AWS here); the layer's zip from a real HTTP server
on a real socket, as Lambda's presigned ``Content.Location``."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from stratus.deploy.layers import check_layers, distributions
from stratus.errors import StratusError
from stratus.manifest import parse_stack
from tests.infra.helpers import REFERENCE
from tests.unit.test_powertools_layer import LOCK

PARAMETER = "/aws/service/powertools/python/arm64/python3.13/3.37.0"
ARN = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
PINS = {
    "gateway": ("aws-lambda-powertools==3.37.0", "pydantic==2.12.5", "pydantic-core==2.41.5"),
    "worker": ("aws-lambda-powertools==3.37.0", "pydantic==2.12.5", "typing-extensions==4.15.0"),
}


def layer_zip(**versions: str) -> bytes:
    """A layer as AWS builds it: packages and their dist-info under python/."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, version in versions.items():
            module = name.replace("-", "_")
            zf.writestr(f"python/{module}/__init__.py", "")
            zf.writestr(f"python/{module}-{version}.dist-info/METADATA", f"Name: {name}\nVersion: {version}\n")
    return out.getvalue()


GOOD = layer_zip(aws_lambda_powertools="3.37.0", pydantic="2.12.5", pydantic_core="2.41.5", typing_extensions="4.15.0")


class Served:
    """A real HTTP server with one file; counts its downloads."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.downloads = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.downloads += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/layer.zip?X-Amz-Signature=secret"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stack(tmp_path: Path):
    raw = tomllib.loads((REFERENCE / "stratus.toml").read_text())
    raw["project"]["powertools"] = "layer"
    (tmp_path / "uv.lock").write_text(LOCK)
    return parse_stack(raw, root=tmp_path, env="dev")


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served(GOOD)
    yield server
    server.close()


class Aws:
    def __init__(self) -> None:
        def client(name: str) -> Any:
            return boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")

        self.ssm, self.lambda_ = client("ssm"), client("lambda")
        self.ssm_stub, self.lambda_stub = Stubber(self.ssm), Stubber(self.lambda_)
        self.ssm_stub.activate()
        self.lambda_stub.activate()

    def published(self, body: bytes, location: str) -> None:
        self.ssm_stub.add_response(
            "get_parameter",
            {"Parameter": {"Name": PARAMETER, "Type": "String", "Value": ARN, "Version": 1}},
            expected_params={"Name": PARAMETER},
        )
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        self.lambda_stub.add_response(
            "get_layer_version_by_arn",
            {"Content": {"Location": location, "CodeSha256": sha, "CodeSize": len(body)}, "LayerVersionArn": ARN},
            expected_params={"Arn": ARN},
        )

    def check(self, stack: Any, tmp_path: Path, pins: dict[str, tuple[str, ...]] = PINS) -> dict[str, str]:
        with httpx.Client() as http:
            return check_layers(stack, pins, ssm=self.ssm, lambda_=self.lambda_, http=http, cache=tmp_path / "cache")


def test_a_layer_holding_every_left_out_pin_passes_and_is_read_once(stack, served, tmp_path) -> None:
    aws = Aws()
    aws.published(GOOD, served.url)
    assert aws.check(stack, tmp_path) == {PARAMETER: ARN}
    assert served.downloads == 1
    # a layer version never changes: the next deploy reads its contents from the cache, not the network
    aws.published(GOOD, served.url)
    assert aws.check(stack, tmp_path) == {PARAMETER: ARN}
    assert served.downloads == 1
    aws.ssm_stub.assert_no_pending_responses()
    aws.lambda_stub.assert_no_pending_responses()


def test_every_difference_is_named_with_the_services_and_how_to_lock_the_layers_versions(
    stack, served, tmp_path
) -> None:
    served.body = layer_zip(aws_lambda_powertools="3.37.0", pydantic="2.11.7", pydantic_core="2.33.2")
    aws = Aws()
    aws.published(served.body, served.url)
    with pytest.raises(StratusError) as caught:
        aws.check(stack, tmp_path)
    message = caught.value.message
    assert "pydantic is 2.11.7 in it, 2.12.5 in uv.lock (gateway, worker)" in message
    assert "pydantic-core is 2.33.2 in it, 2.41.5 in uv.lock (gateway)" in message
    assert "typing-extensions 4.15.0 is not in it (worker)" in message
    assert ARN in message and "secret" not in message  # the presigned URL is a credential: never shown
    hint = caught.value.hint or ""
    assert "uv lock --upgrade-package pydantic==2.11.7 --upgrade-package pydantic-core==2.33.2" in hint
    assert 'powertools = "bundle"' in hint


def test_a_release_aws_has_no_layer_for_is_named(stack, tmp_path) -> None:
    aws = Aws()
    aws.ssm_stub.add_client_error("get_parameter", "ParameterNotFound", expected_params={"Name": PARAMETER})
    with pytest.raises(StratusError, match=r"no Powertools layer 3\.37\.0 here: no parameter /aws/service/") as caught:
        aws.check(stack, tmp_path)
    assert "--upgrade-package aws-lambda-powertools" in (caught.value.hint or "")


def test_a_download_that_does_not_match_lambdas_hash_is_refused(stack, served, tmp_path) -> None:
    aws = Aws()
    aws.published(GOOD + b"\0", served.url)  # Lambda's CodeSha256 is of other bytes than those served
    with pytest.raises(StratusError, match="does not have the hash Lambda gives"):
        aws.check(stack, tmp_path)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_a_failed_download_is_an_error_without_the_url(stack, tmp_path) -> None:
    aws = Aws()
    aws.published(GOOD, "http://127.0.0.1:9/layer.zip?X-Amz-Signature=secret")  # nothing listens on port 9
    with pytest.raises(StratusError, match="downloading the layer") as caught:
        aws.check(stack, tmp_path)
    assert "secret" not in caught.value.message


def test_distributions_are_read_from_both_layer_layouts() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("python/pydantic_core-2.41.5.dist-info/METADATA", "")
        zf.writestr("python/lib/python3.13/site-packages/Typing_Extensions-4.15.0.dist-info/RECORD", "")
        zf.writestr("python/pydantic/__init__.py", "")
    assert distributions(out.getvalue()) == {"pydantic-core": "2.41.5", "typing-extensions": "4.15.0"}
    with pytest.raises(StratusError, match="not a zip"):
        distributions(b"not a zip")
