"""What the rendered Terraform declares, read back from the HCL (checkov's parser), for one environment.

Everything is evaluated as Terraform would for that environment: ``local.prefix``, the per-environment locals
(``lookup({...}, var.environment, ...)``), ``merge``, and the variables. A reference to a module output becomes a
:class:`Thing` named by what it denotes (queue ``acme-dev-jobs``'s URL), so it can be compared with the value the
local cloud gives the same variable. Written independently of ``stratus.infra``: it knows the modules' outputs,
not how the renderer chose them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

import hcl2


@dataclass(frozen=True, order=True)
class Thing:
    """A deployed thing a value denotes: ``Thing("queue", "acme-dev-jobs", "url")``."""

    kind: str
    name: str
    attr: str


_OUTPUT = re.compile(r"module\.([A-Za-z0-9_-]+)\.([a-z_]+)(?:\[\"([^\"]+)\"\])?")
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
# Module output -> (kind, attr) of what it denotes.
_QUEUE = {"queue_url": "url", "queue_arn": "arn", "queue_name": "name"}
_DLQ = {"dlq_url": "url", "dlq_arn": "arn"}


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    """An HCL quoted string's value (the parser keeps its escapes): ``\\"`` is ``"``, ``$${`` is ``${``."""
    text = re.sub(r'\\([nrt"\\])', lambda m: _ESCAPES[m.group(1)], text)
    return text.replace("$${", "${").replace("%%{", "%{")


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _closing(text: str, start: int) -> int:
    """Where the bracket opened at ``start`` closes (quotes respected)."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            quote = "" if char == quote and text[i - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_args(text: str) -> list[str]:
    """Top-level arguments of a call's argument list."""
    out, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[i - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [part.strip() for part in out]


class TerraformView:
    def __init__(self, files: dict[str, str], *, env: str, project: str, region: str) -> None:
        self.env, self.project, self.region = env, project, region
        self.modules: dict[str, dict[str, Any]] = {}
        self.locals: dict[str, Any] = {}
        self.data: dict[tuple[str, str], dict[str, Any]] = {}
        for path, text in files.items():
            if "/" in path or not path.endswith(".tf"):
                continue
            parsed = hcl2.loads(text)
            for entry in parsed.get("module", []):
                for name, body in entry.items():
                    self.modules[name] = {k: _one(v) for k, v in body.items() if not k.startswith("__")}
            for entry in parsed.get("data", []):
                for kind, blocks in entry.items():
                    for name, body in blocks.items():
                        self.data[(kind, name)] = {k: _one(v) for k, v in body.items() if not k.startswith("__")}
            for entry in parsed.get("locals", []):
                self.locals.update({k: _one(v) for k, v in entry.items() if not k.startswith("__")})
        self.prefix = f"{project}-{env}"

    # ------------------------------------------------------------------------------------------- values

    def value(self, raw: Any) -> Any:
        """``raw`` as Terraform evaluates it in this environment (module outputs as :class:`Thing`)."""
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if not isinstance(raw, str):
            return raw
        if not re.search(r"(?<!\$)\$\{", raw):
            return _unescape(raw)
        if raw.startswith("${") and _closing(raw, 1) == len(raw) - 1:  # one expression: its value, of any type
            return self._expression(raw[2:-1].strip())
        objects = re.fullmatch(r"\$\{([^}]*)\}/\*", raw)
        if objects:  # a bucket's objects: "${module.s3_x.bucket_arn}/*"
            bucket = self._expression(objects.group(1))
            return Thing(bucket.kind, bucket.name, "objects")
        parts = [self._expression(m.group(1).strip()) for m in _INTERPOLATION.finditer(raw)]
        databases = {p.name for p in parts if isinstance(p, Thing) and p.kind == "database"}
        if raw.startswith("postgresql://") and len(databases) == 1 and len(parts) == 4:
            # a connection URL from the database module's username, address, port and db_name
            assert {p.attr for p in parts} == {"username", "address", "port", "db_name"}, raw
            return Thing("database", databases.pop(), "url")
        values = iter(parts)
        return _INTERPOLATION.sub(lambda _: str(next(values)), raw)

    def _expression(self, expr: str) -> Any:
        if expr.startswith("merge("):
            merged: dict[str, Any] = {}
            for part in _split_args(expr[len("merge(") : -1]):
                merged.update(self._expression(part))
            return merged
        if expr.startswith("{"):
            return self.value(ast.literal_eval(expr))
        if expr.startswith("local."):
            name, *fields = expr[len("local.") :].split(".")
            value = self._local(name)
            for field in fields:
                value = value[field]
            return value
        known = {"var.environment": self.env, "var.project_name": self.project, "var.aws_region": self.region}
        if expr in known:
            return known[expr]
        match = _OUTPUT.fullmatch(expr)
        if match:
            return self.output(*match.groups())
        model = re.fullmatch(r"data\.aws_bedrock_foundation_model\.([\w-]+)\.(model_id|model_arn)", expr)
        if model:  # what the data source evaluates to in AWS: the model's id, or its ARN in this region
            model_id = self.data[("aws_bedrock_foundation_model", model.group(1))]["model_id"]
            if model.group(2) == "model_id":
                return model_id
            return f"arn:aws:bedrock:{self.region}::foundation-model/{model_id}"
        return f"<{expr}>"  # what no comparison reads (alarm actions, the VPC): kept as written

    def _local(self, name: str) -> Any:
        if name == "prefix":
            return self.prefix
        raw = self.locals[name]
        call = re.fullmatch(r"\$\{lookup\((.*)\)\}", raw, re.S)
        if call is None:
            return f"<local.{name}>"  # the network's locals
        by_env, key, default = _split_args(call.group(1))
        assert key == "var.environment"
        table = ast.literal_eval(by_env)
        return self.value(table.get(self.env, ast.literal_eval(default)))

    def output(self, module: str, output: str, key: str | None = None) -> Any:
        """What ``module.<module>.<output>[key]`` denotes."""
        if module == "api":
            return Thing("api", "", "url")
        args = self.modules[module]
        name = self.value(args.get("name", ""))
        if module.startswith("lambda_") and output in ("function_names", "function_arns", "invoke_arns"):
            assert key is not None
            return Thing("function", self.value(args["functions"][key]["function_name"]), "name")
        if module.startswith("sqs_"):
            if output in _DLQ:
                return Thing("queue", self.value(args["dlq_name"]), _DLQ[output])
            return Thing("queue", name, _QUEUE[output])
        if module.startswith("dynamodb_"):
            return Thing("table", name, output.removeprefix("table_"))
        if module.startswith("s3_"):
            return Thing("bucket", name, output.removeprefix("bucket_"))
        if module.startswith("postgres_"):
            return Thing("database", module.removeprefix("postgres_"), output)
        if module.startswith("secret_") and output == "secret_arn":
            return Thing("secret", name, "arn")
        return f"<module.{module}.{output}>"  # a container's URL, an ECR repository: nothing local to compare

    # ------------------------------------------------------------------------------------------- facts

    def functions(self) -> dict[str, dict[str, Any]]:
        """AWS function name -> handler, memory, timeout, reserved concurrency, environment, service."""
        out = {}
        for module, args in self.modules.items():
            if not module.startswith("lambda_"):
                continue
            environment = self.value(args["environment_variables"])
            for key, function in self.value(args["functions"]).items():
                out[function["function_name"]] = {
                    "provisioned_concurrency": self.value(args["provisioned_concurrency"]) if key == "http" else None,
                    "service": module.removeprefix("lambda_"),
                    "handler": function["handler"],
                    "memory": self.value(args["memory_size"]),
                    # the module: coalesce(each.value.timeout, var.timeout); unreserved: -1, no reservation
                    "timeout": function.get("timeout") or self.value(args["timeout"]),
                    "reserved_concurrency": None
                    if function.get("unreserved")
                    else self.value(args["reserved_concurrent_executions"]),
                    "environment": environment,
                }
        return out

    def containers(self) -> dict[str, dict[str, Any]]:
        """Service -> environment of each container service."""
        return {
            module.split("_", 1)[1]: {"environment": self.value(args["environment_variables"])}
            for module, args in self.modules.items()
            if module.startswith(("apprunner_", "ecs_"))
        }

    def event_sources(self) -> dict[str, dict[str, Any]]:
        """AWS function name -> the queue it consumes and how (the lambda-service module's event source mapping)."""
        out = {}
        for module, args in self.modules.items():
            if module.startswith("lambda_") and "event_sources" in args:
                functions = self.value(args["functions"])
                for source in self.value(args["event_sources"]).values():
                    out[functions[source["function"]]["function_name"]] = {
                        "queue": source["queue_arn"].name,
                        "batch_size": source["batch_size"],
                        "batching_window": source["maximum_batching_window_in_seconds"],
                        "report_batch_item_failures": "ReportBatchItemFailures" in source["function_response_types"],
                    }
        return out

    def schedules(self) -> dict[str, dict[str, Any]]:
        """AWS function name -> its rule (the module names the rule after the function) and expression."""
        out = {}
        for module, args in self.modules.items():
            if module.startswith("lambda_") and "schedules" in args:
                functions = self.value(args["functions"])
                for schedule in self.value(args["schedules"]).values():
                    name = functions[schedule["function"]]["function_name"]
                    out[name] = {"rule": name, "expression": schedule["schedule_expression"]}
        return out

    def notifications(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(bucket, configuration id) -> the function it invokes, its events, prefix and suffix."""
        out = {}
        for module, args in self.modules.items():
            if module.startswith("s3_"):
                bucket = self.value(args["name"])
                for n in self.value(args.get("notifications", [])):
                    assert n["function_arn"] == n["function_name"], "the permission and the notification differ"
                    out[(bucket, n["id"])] = {"function": n["function_name"].name, "events": sorted(n["events"]),
                                              "prefix": n["prefix"], "suffix": n["suffix"]}  # fmt: skip
        return out

    def queues(self) -> dict[str, dict[str, Any]]:
        out = {}
        for module, args in self.modules.items():
            if module.startswith("sqs_"):
                a = self.value(args)
                out[a["name"]] = {
                    "dlq": a["dlq_name"],
                    "fifo": a["fifo"],
                    "visibility_timeout": a["visibility_timeout_seconds"],
                    "retention": a["message_retention_seconds"],
                    "dlq_retention": a["dlq_message_retention_seconds"],
                    "delay": a["delay_seconds"],
                    "receive_wait": a["receive_wait_time_seconds"],
                    "max_receive_count": a["max_receive_count"],
                }
        return out

    def tables(self) -> dict[str, dict[str, Any]]:
        out = {}
        for module, args in self.modules.items():
            if module.startswith("dynamodb_"):
                a = self.value(args)
                keys = [(a["hash_key"], a["hash_key_type"])]
                if "range_key" in a:
                    keys.append((a["range_key"], a["range_key_type"]))
                types = a.get("attributes") or dict(keys)
                indexes = sorted(
                    (
                        index["name"],
                        tuple((key, types[key]) for key in (index["hash_key"], index["range_key"]) if key),
                        index["projection_type"],
                    )
                    for index in a.get("global_secondary_indexes", [])
                )
                out[a["name"]] = {"keys": keys, "ttl": a.get("ttl_attribute"), "indexes": indexes}
        return out

    def buckets(self) -> dict[str, dict[str, Any]]:
        return {
            self.value(args["name"]): {"versioning": self.value(args["versioning"])}
            for module, args in self.modules.items()
            if module.startswith("s3_")
        }

    def secrets(self) -> dict[str, dict[str, Any]]:
        """Secret name -> the length of the value Terraform has generated (None: set outside Terraform)."""
        return {self.value(a["name"]): {"length": self.value(a["generate_length"])} for m, a in self.modules.items()
                if m.startswith("secret_")}  # fmt: skip

    def databases(self) -> dict[str, str]:
        """Manifest name -> the database RDS creates in it."""
        return {m.removeprefix("postgres_"): self.value(a["db_name"]) for m, a in self.modules.items()
                if m.startswith("postgres_")}  # fmt: skip

    def grants(self) -> dict[str, list[tuple[str, tuple[str, ...], tuple[Thing, ...]]]]:
        """Service -> (sid, actions, resources) of each statement of its role beyond the module's own."""
        out = {}
        for module, args in self.modules.items():
            if module.startswith(("lambda_", "apprunner_", "ecs_")):
                out[module.split("_", 1)[1]] = [
                    (s["sid"], tuple(s["actions"]), tuple(s["resources"]))
                    for s in self.value(args["policy_statements"])
                ]
        return out

    def routes(self) -> dict[str, dict[str, Any]]:
        """Route key -> the service it integrates with, and its authorizer (function, identity sources, TTL)."""
        api = self.value(self.modules["api"])
        lambdas = api.get("lambda_integrations", {})
        authorizers = api.get("authorizers", {})
        out = {}
        for key, route in api["routes"].items():
            service = route["integration"].split("/", 1)[0]
            guard = authorizers[route["authorizer"]] if route["authorizer"] else None
            out[key] = {
                "service": service,
                "function": lambdas[service]["function_name"].name if service in lambdas else None,
                "timeout_ms": (lambdas.get(service) or api["http_integrations"][route["integration"]])[
                    "timeout_milliseconds"
                ],
                "authorizer": None
                if guard is None
                else (guard["function_name"].name, tuple(guard["identity_sources"]), guard["ttl"]),
            }
        return out
