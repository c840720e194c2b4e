"""A throwaway project whose Lambda handlers misbehave on request, to check the local cloud against AWS."""

from __future__ import annotations

import textwrap
from pathlib import Path

LAB_HANDLER = """
import base64, ctypes, json, os, sys, time

INVOCATIONS = 0


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    if "rawPath" not in event:  # invoked directly (Invoke API), not through the HTTP API
        return direct(event, context)
    parts = event["rawPath"].split("/", 2)
    path = "/" + (parts[2] if len(parts) > 2 else "")
    query = event.get("queryStringParameters") or {}
    if path == "/echo":
        time.sleep(float(query.get("hold", "0")))
        env = {k: v for k, v in os.environ.items()
               if k.startswith(("AWS_LAMBDA", "_HANDLER", "LAMBDA_", "STRATUS_", "AWS_REGION", "AWS_EXECUTION",
                                "RECORDS_", "GREETING", "AWS_ENDPOINT"))}
        body = {"event": event, "env": env, "remaining_ms": context.get_remaining_time_in_millis(),
                "request_id": context.aws_request_id, "function_name": context.function_name,
                "memory": context.memory_limit_in_mb, "invocations": INVOCATIONS, "pid": os.getpid()}
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    if path == "/raise":
        print("about to fail")
        raise RuntimeError("boom")
    if path == "/exit":
        sys.exit(1)
    if path == "/segv":
        ctypes.string_at(0)
    if path == "/sleep":
        time.sleep(float(query.get("s", "1")))
        return {"statusCode": 200, "body": "slept"}
    if path == "/malformed":
        return {"statusCode": "teapot"}
    if path == "/bare":
        return {"hello": "world"}
    if path == "/binary":
        return {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(bytes(range(8))).decode(),
                "headers": {"content-type": "application/octet-stream"}}
    if path == "/cookies":
        return {"statusCode": 201, "cookies": ["a=1", "b=2; Path=/"], "body": "ok"}
    if path == "/db":
        import psycopg
        with psycopg.connect(os.environ["RECORDS_DATABASE_URL"]) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS visits (n int)")
            conn.execute("INSERT INTO visits VALUES (1)")
            count = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        return {"statusCode": 200, "body": json.dumps({"visits": count})}
    if path == "/aws":
        return aws_call(query.get("call", ""))
    if path == "/print":  # a fast handler that prints just before it returns
        print("hello from the probe")
        return {"statusCode": 200, "body": "printed"}
    if path == "/big":  # a response body of ?n= bytes
        return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "x" * int(query.get("n", "0"))}
    if path == "/plain":  # a full-form response without a content-type
        return {"statusCode": 200, "body": "logged"}
    if path == "/size":  # how big the event this function received was
        return {"statusCode": 200, "body": json.dumps({"event_bytes": len(json.dumps(event))})}
    return {"statusCode": 404, "body": "lab: no such path " + path}


def direct(event, context):
    # {"action": ...}: what a direct invocation asks of the lab
    action = event.get("action", "echo")
    if action == "raise":
        print("about to fail")
        raise RuntimeError("boom")
    if action == "print":
        print("hello from the probe")
        return {"printed": True}
    if action == "big":
        return {"data": "x" * int(event.get("n", 0))}
    if action == "sleep":
        time.sleep(float(event.get("s", 1)))
        return {"slept": True}
    if action == "exit":
        sys.exit(int(event.get("code", 1)))
    cc = context.client_context
    client_context = None
    if cc is not None:
        client_context = {"custom": cc.custom, "env": cc.env,
                          "client": None if cc.client is None else {"installation_id": cc.client.installation_id}}
    return {"event": event, "request_id": context.aws_request_id, "function_name": context.function_name,
            "invoked_function_arn": context.invoked_function_arn, "client_context": client_context,
            "invocations": INVOCATIONS}


def aws_call(call):
    # An AWS call with the function's own credentials: its outcome, or AWS's error, as JSON.
    import boto3
    from botocore.exceptions import ClientError

    try:
        if call == "whoami":
            result = boto3.client("sts").get_caller_identity()["Arn"]
        elif call == "undeclared":
            item = {"id": {"S": "1"}}
            result = boto3.client("dynamodb").put_item(TableName="lab-dev-notes", Item=item) and "written"
        elif call == "invoke":
            result = boto3.client("lambda").invoke(FunctionName="lab-dev-single", Payload=b"{}") and "invoked"
        elif call == "send-later":
            sqs = boto3.client("sqs")
            result = sqs.send_message(QueueUrl=os.environ["LATER_QUEUE_URL"], MessageBody="x") and "sent"
        else:
            return {"statusCode": 400, "body": "unknown call " + call}
    except ClientError as exc:
        error = {"error": exc.response["Error"], "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
        return {"statusCode": 200, "body": json.dumps(error)}
    return {"statusCode": 200, "body": json.dumps({"result": result})}
"""

BROKEN_HANDLER = """
import this_module_does_not_exist  # noqa: F401


def handler(event, context):
    return {"statusCode": 200, "body": "unreachable"}
"""

LAB_MANIFEST = """
[project]
name = "lab"

[api]
{throttle}

[api.cors]
allow_origins = ["https://good.example"]
allow_methods = ["GET", "POST"]
allow_headers = ["content-type"]
max_age = 60

[services.lab]
kind = "lambda"
path = "/lab"
timeout = 2
memory = 256
uses = { records = "read-write" }
env = { GREETING = "hello" }

[services.slow]
kind = "lambda"
path = "/slow"
source = "services/lab"
handler = "lab.main.handler"
timeout = 10
integration_timeout = 0.5

[services.single]
kind = "lambda"
path = "/single"
source = "services/lab"
handler = "lab.main.handler"
reserved_concurrency = 1
uses = { notes = "read" }

[services.broken]
kind = "lambda"
path = "/broken"

[tables.notes]
hash_key = "id"

[network]
create = true

[databases.records]
"""


def make_lab(root: Path, *, throttle: str = "", databases: bool = True) -> Path:
    manifest = LAB_MANIFEST.replace("{throttle}", throttle)
    if not databases:
        manifest = manifest.replace('uses = { records = "read-write" }\n', "").replace("[databases.records]\n", "")
        manifest = manifest.replace("[network]\ncreate = true\n", "")
    (root / "stratus.toml").write_text(textwrap.dedent(manifest))
    for name, code in (("lab", LAB_HANDLER), ("broken", BROKEN_HANDLER)):
        package = root / "services" / name / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(code)
    return root


BOX_SERVER = """
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        sick = os.path.exists(os.environ["SICK_FLAG"]) and self.path == "/health"
        body = json.dumps({"pid": os.getpid(), "path": self.path, "port": os.environ["PORT"]}).encode()
        self.send_response(500 if sick else 200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
"""


def make_box(root: Path) -> Path:
    """A container service whose health check fails while ``<root>/sick`` exists."""
    (root / "stratus.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "box"

            [services.box]
            kind = "apprunner"
            path = "/box"
            cpu = 256
            memory = 512
            env = {{ SICK_FLAG = "{root / "sick"}" }}
            health = {{ path = "/health", interval = 1, timeout = 1, healthy = 1, unhealthy = 2 }}
            """
        )
    )
    package = root / "services" / "box" / "box"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(BOX_SERVER)
    return root


CONSUMER_HANDLER = """
import json, os


def handler(event, context):
    failures = []
    with open(os.environ["DELIVERIES"], "a") as log:
        for record in event["Records"]:
            body = record["body"]
            log.write(json.dumps({"body": body, "count": record["attributes"]["ApproximateReceiveCount"],
                                  "batch": len(event["Records"]), "source": record["eventSource"],
                                  "record": record}) + "\\n")
            if body.startswith("poison"):
                raise RuntimeError("poison message " + body)
            if body.startswith("bad"):
                failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def web(event, context):
    return {"statusCode": 200, "body": "ok"}


def tick(event, context):
    with open(os.environ["DELIVERIES"], "a") as log:
        log.write(json.dumps({"scheduled": event, "function": context.function_name}) + "\\n")
    return {"ticked": True}


def on_upload(event, context):
    with open(os.environ["DELIVERIES"], "a") as log:
        for record in event["Records"]:
            log.write(json.dumps({"s3": record, "function": context.function_name}) + "\\n")
"""


def make_queue_lab(root: Path, *, batch_size: int = 10, batching_window: int = 0) -> Path:
    """A project with one queue consumed by one Lambda, whose handler logs every delivery to a file."""
    (root / "stratus.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "qlab"

            [services.consumer]
            kind = "lambda"
            path = "/consumer"
            handler = "consumer.main.web"
            timeout = 2
            env = {{ DELIVERIES = "{root / "deliveries.jsonl"}" }}
            uses = {{ tasks = "send" }}

            schedules = [{{ rate = "1 day", handler = "consumer.main.tick" }}]

            [[services.consumer.consumes]]
            queue = "tasks"
            handler = "consumer.main.handler"
            batch_size = {batch_size}
            batching_window = {batching_window}

            [queues.tasks]
            visibility_timeout = 2
            max_receive_count = 2

            [buckets.uploads]
            [[buckets.uploads.notify]]
            service = "consumer"
            handler = "consumer.main.on_upload"
            events = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
            prefix = "in/"
            suffix = ".txt"
            """
        )
    )
    package = root / "services" / "consumer" / "consumer"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(CONSUMER_HANDLER)
    return root


AUTHORIZER = """
import json, os

CALLS = os.environ["AUTHORIZER_CALLS"]


def handler(event, context):
    with open(CALLS, "a") as calls:
        calls.write(json.dumps({"identitySource": event["identitySource"], "type": event["type"],
                                "routeArn": event["routeArn"], "routeKey": event["routeKey"],
                                "hasBody": "body" in event}) + "\\n")
    value = event["identitySource"][0]
    if value == "explode":
        raise RuntimeError("authorizer failure")
    if value in ("good-key", "Bearer good-token"):
        return {"isAuthorized": True, "context": {"principalId": "p-1", "scopes": ["read"], "n": 1}}
    return {"isAuthorized": False}
"""


def make_auth_lab(root: Path, *, ttl: int = 0) -> Path:
    """Services protected by API key and by token, an open one, and an authorizer that logs its calls."""
    sources = ', identity_sources = ["$request.header.x-api-key", "$context.routeKey"]' if ttl else ""
    (root / "stratus.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "authlab"

            [api]
            cors = {{ allow_origins = ["https://good.example"], allow_methods = ["GET", "POST"] }}
            authorizer = {{ service = "guard", handler = "guard.main.handler", ttl = {ttl}{sources} }}

            [services.guard]
            kind = "lambda"
            path = "/guard"
            handler = "lab.main.handler"
            source = "services/lab"
            env = {{ AUTHORIZER_CALLS = "{root / "calls.jsonl"}" }}

            [services.keyed]
            kind = "lambda"
            path = "/keyed"
            source = "services/lab"
            handler = "lab.main.handler"
            auth = "api_key"

            [services.tokened]
            kind = "lambda"
            path = "/tokened"
            source = "services/lab"
            handler = "lab.main.handler"
            auth = "token"

            [services.open]
            kind = "lambda"
            path = "/"
            source = "services/lab"
            handler = "lab.main.handler"
            """
        )
    )
    for name, code in (("lab", LAB_HANDLER), ("guard", AUTHORIZER)):
        package = root / "services" / "lab" / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(code)
    return root


CONSOLE_APP = """
import json, os

# A token as an identity provider would issue one: the console must not show it unless asked.
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"


def web(event, context):
    path = event["rawPath"]
    if path.endswith("/fail"):
        raise RuntimeError("web failure on purpose")
    print(json.dumps({"level": "WARNING", "message": "issued token " + TOKEN}))
    body = {"ok": True, "path": path, "access_token": TOKEN}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def handler(event, context):
    with open(os.environ["DELIVERIES"], "a") as log:
        for record in event["Records"]:
            log.write(json.dumps({"body": record["body"]}) + "\\n")
            if record["body"].startswith("poison"):
                raise RuntimeError("poison message " + record["body"])
    return {"batchItemFailures": []}


def tick(event, context):
    with open(os.environ["DELIVERIES"], "a") as log:
        log.write(json.dumps({"scheduled": event["detail-type"]}) + "\\n")
    return {"ticked": True}
"""


def make_console_lab(root: Path) -> Path:
    """A service with an HTTP function that logs a token, a queue consumer that fails on ``poison`` messages (one
    receive, then the DLQ), a daily schedule, a table and a bucket: what the local console shows."""
    (root / "stratus.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "clab"

            [services.app]
            kind = "lambda"
            path = "/app"
            handler = "app.main.web"
            timeout = 1
            env = {{ DELIVERIES = "{root / "deliveries.jsonl"}" }}
            uses = {{ tasks = "send", notes = "read-write", uploads = "read-write" }}
            schedules = [{{ rate = "1 day", handler = "app.main.tick" }}]

            [[services.app.consumes]]
            queue = "tasks"
            handler = "app.main.handler"
            batch_size = 1

            [queues.tasks]
            visibility_timeout = 1
            max_receive_count = 1

            [tables.notes]
            hash_key = "id"

            [buckets.uploads]
            """
        )
    )
    package = root / "services" / "app" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(CONSOLE_APP)
    return root
