"""What a service finds in its environment, as declared to AWS (the Terraform) and run locally alike.

- its identity: ``STRATUS_PROJECT``, ``STRATUS_ENV`` (and ``ENVIRONMENT``), ``STRATUS_SERVICE`` (and
  ``SERVICE_NAME``, ``POWERTOOLS_SERVICE_NAME``), ``SERVICE_VERSION``, ``STRATUS_BASE_PATH``, ``STRATUS_API_URL``;
- a container service also gets ``AWS_REGION``/``AWS_DEFAULT_REGION`` (Lambda sets them itself and refuses
  them), ``PORT`` and ``HOST``;
- one variable per attribute of each resource it uses (:func:`stratus.naming.binding_variables`), and
  ``BEDROCK_MODEL_ID`` when it uses exactly one model;
- the authorizer's service gets the policy of every route it guards (``STRATUS_ROUTES``, JSON, by route key:
  :func:`stratus.manifest.routes.policies`);
- the manifest's ``env`` last.

What the platform itself sets (Lambda's reserved variables, the local cloud's endpoints and credentials) is not
here: each back end adds its own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stratus import naming
from stratus.manifest.refs import Ref, Value
from stratus.manifest.routes import policies
from stratus.manifest.schema import ContainerService

if TYPE_CHECKING:
    from stratus.manifest.stack import Stack

# Where a container listens, in AWS: every address of the task, on the manifest's port.
CONTAINER_HOST = "0.0.0.0"


def environment(stack: Stack, name: str) -> dict[str, Value]:
    """The variables of service ``name``, sorted by name."""
    svc = stack.services[name]
    env: dict[str, Value] = {
        "STRATUS_PROJECT": Ref("stack", "", "project"),
        "STRATUS_ENV": Ref("stack", "", "environment"),
        "ENVIRONMENT": Ref("stack", "", "environment"),
        "STRATUS_SERVICE": name,
        "SERVICE_NAME": name,
        "SERVICE_VERSION": stack.project.version,
        "STRATUS_BASE_PATH": svc.path,
        "STRATUS_API_URL": Ref("api", "", "url"),
        "POWERTOOLS_SERVICE_NAME": name,
    }
    if isinstance(svc, ContainerService):
        env.update(
            {
                "AWS_REGION": Ref("stack", "", "region"),
                "AWS_DEFAULT_REGION": Ref("stack", "", "region"),
                "PORT": str(svc.port),
                "HOST": CONTAINER_HOST,
            }
        )
    for binding in stack.bindings(name):
        for attr, variable in naming.binding_variables(binding.kind, binding.name).items():
            env[variable] = Ref(binding.kind, binding.name, attr)
    models = [b.name for b in stack.bindings(name) if b.kind == "model"]
    if len(models) == 1:  # the name the Bedrock examples read; with two models, each has only its own
        env["BEDROCK_MODEL_ID"] = Ref("model", models[0], "id")
    authorizer = stack.authorizer
    if authorizer is not None and authorizer.service == name:  # what the authorizer decides by
        env["STRATUS_ROUTES"] = json.dumps(policies(stack), sort_keys=True, separators=(",", ":"))
    env.update(svc.env)
    return dict(sorted(env.items()))
