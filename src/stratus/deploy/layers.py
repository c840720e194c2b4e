"""Before a deploy applies: do AWS's managed layers hold what the zips left out for them, at the lock's versions?

A zip built with ``[project] powertools = "layer"`` leaves out what that layer holds: Powertools, pydantic...
(:attr:`stratus.build.archive.BuildInfo.from_layers`, the versions ``uv.lock`` pins, which ``stratus dev`` runs).
In AWS they come from the layer whose version ARN the Terraform reads from the public SSM parameter of
:class:`stratus.manifest.layers.ManagedLayer`. What that layer holds is whatever AWS installed when it built it, so
this module reads the same parameter, downloads the layer (``GetLayerVersionByArn``: ``Content.Location``, checked
against ``Content.CodeSha256``), lists its ``*.dist-info`` directories and refuses the deploy, naming every
difference, unless each left-out pin is there at its version. What a layer holds is cached by its hash under
``.stratus/deploy/layers``: a layer version never changes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from stratus.errors import StratusError
from stratus.manifest import Stack
from stratus.manifest.layers import ManagedLayer

MAX_LAYER_BYTES = 100 * 1024 * 1024  # a layer zip is at most 50 MB uploaded directly, 250 MB unzipped
_DIST_INFO = re.compile(r"^python/(?:lib/python3\.\d+/site-packages/)?([^/]+)-([^/-]+)\.dist-info/")


@dataclass(frozen=True)
class Mismatch:
    layer: str  # its version ARN
    distribution: str
    locked: str
    found: str | None  # None: not in the layer
    services: tuple[str, ...]

    def render(self) -> str:
        where = ", ".join(self.services)
        if self.found is None:
            return f"{self.distribution} {self.locked} is not in it ({where})"
        return f"{self.distribution} is {self.found} in it, {self.locked} in uv.lock ({where})"


def check_layers(
    stack: Stack,
    pins: Mapping[str, tuple[str, ...]],
    *,
    ssm: Any,
    lambda_: Any,
    http: httpx.Client,
    cache: Path,
) -> dict[str, str]:
    """Check the layers of every service in ``pins`` (service -> ``name==version`` left out of its zip); returns
    each layer's SSM parameter -> the version ARN it names. Raises a StratusError naming every difference."""
    wanted: dict[ManagedLayer, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    for service, lines in pins.items():
        layers = stack.plan.services[service].function("http").layers
        for line in lines:
            name, _, version = line.partition("==")
            for layer in layers:
                if canonicalize_name(name) in layer.distributions:
                    wanted[layer][(canonicalize_name(name), version)].append(service)
    arns: dict[str, str] = {}
    mismatches: list[Mismatch] = []
    for layer, needed in wanted.items():
        arn = layer_arn(ssm, layer)
        arns[layer.parameter] = arn
        found = layer_contents(lambda_, arn, http=http, cache=cache)
        for (name, version), services in sorted(needed.items()):
            if not _same_version(found.get(name), version):
                mismatches.append(Mismatch(arn, name, version, found.get(name), tuple(services)))
    if mismatches:
        listed = "\n".join(f"  {m.render()}" for m in mismatches)
        pinned = " ".join(f"--upgrade-package {m.distribution}=={m.found}" for m in mismatches if m.found)
        raise StratusError(
            f"AWS's Powertools layer does not hold what the zips left out for it at uv.lock's versions "
            f"({mismatches[0].layer}):\n{listed}",
            hint=(f"lock the layer's versions (`uv lock {pinned}`) and deploy again, " if pinned else "")
            + 'or ship them in the zips: [project] powertools = "bundle"',
        )
    return arns


def layer_arn(ssm: Any, layer: ManagedLayer) -> str:
    """The layer version ARN AWS publishes under ``layer.parameter``."""
    try:
        return str(ssm.get_parameter(Name=layer.parameter)["Parameter"]["Value"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise StratusError(
                f"AWS publishes no Powertools layer {layer.version} here: no parameter {layer.parameter}",
                hint="lock a Powertools release AWS has published a layer for "
                '(`uv lock --upgrade-package aws-lambda-powertools`), or set [project] powertools = "bundle"',
            ) from exc
        raise StratusError(f"reading {layer.parameter}: {exc}") from exc
    except BotoCoreError as exc:
        raise StratusError(f"reading {layer.parameter}: {exc}") from exc


def layer_contents(lambda_: Any, arn: str, *, http: httpx.Client, cache: Path) -> dict[str, str]:
    """The distributions (canonical name -> version) in the layer version ``arn``."""
    try:
        content = lambda_.get_layer_version_by_arn(Arn=arn)["Content"]
    except (ClientError, BotoCoreError) as exc:
        raise StratusError(f"reading the layer {arn}: {exc}") from exc
    digest = str(content["CodeSha256"])
    cached = cache / f"{hashlib.sha256(digest.encode()).hexdigest()[:32]}.json"
    if cached.exists():
        return dict(json.loads(cached.read_text()))
    if int(content.get("CodeSize", 0)) > MAX_LAYER_BYTES:
        raise StratusError(f"the layer {arn} is {content['CodeSize']} bytes: more than a layer can be")
    data = download(http, str(content["Location"]), what=f"the layer {arn}")
    if base64.b64encode(hashlib.sha256(data).digest()).decode() != digest:
        raise StratusError(f"the layer {arn} downloaded does not have the hash Lambda gives (CodeSha256 {digest})")
    found = distributions(data)
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(found, indent=2, sort_keys=True))
    return found


def distributions(layer_zip: bytes) -> dict[str, str]:
    """Canonical name -> version of each ``*.dist-info`` under the layer's ``python/`` directory."""
    try:
        names = zipfile.ZipFile(io.BytesIO(layer_zip)).namelist()
    except zipfile.BadZipFile as exc:
        raise StratusError(f"the layer downloaded is not a zip ({exc})") from exc
    out: dict[str, str] = {}
    for name in names:
        match = _DIST_INFO.match(name)
        if match:
            out[str(canonicalize_name(match.group(1)))] = match.group(2)
    return out


def download(http: httpx.Client, url: str, *, what: str, limit: int = MAX_LAYER_BYTES) -> bytes:
    """The body at ``url`` (a presigned S3 URL: never logged, it is a credential for a while), at most ``limit``."""
    chunks: list[bytes] = []
    size = 0
    try:
        with http.stream("GET", url, timeout=120) as response:
            if response.status_code != 200:
                raise StratusError(f"downloading {what}: HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise StratusError(f"downloading {what}: more than {limit} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise StratusError(f"downloading {what}: {type(exc).__name__}") from exc
    return b"".join(chunks)


def _same_version(found: str | None, locked: str) -> bool:
    if found is None:
        return False
    try:
        return Version(found) == Version(locked)
    except InvalidVersion:
        return found == locked
