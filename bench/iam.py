"""What enforcing IAM costs each AWS call: the embedded AWS with enforcement on and off, side by side.

Two servers (``python -m stratus.local.aws_server``), one with ``STRATUS_IAM=enforce`` and one with
``STRATUS_IAM=off``, each provisioned alike: a table, a queue, a bucket, a secret, and a role whose policy is what
``stratus infra`` would give a service using them (read-write table, send-receive queue, read-write bucket, read
secret). The same calls are made with the role's session credentials, alternating between the two servers call
by call (so both see the same machine noise): DynamoDB GetItem and PutItem, SQS SendMessage, S3 GetObject,
Secrets Manager GetSecretValue. Reported per call: p50 and p90 latency on each server and the difference of the
medians (target: enforcement adds <= 0.3 ms at p50), and the same over all calls.

Run: uv run python bench/iam.py [--calls 1000]   (from the repository root; ~1 min)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from botocore.config import Config
from stratus_common.aws import new_session

ROOT = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
ACCOUNT, REGION = "123456789012", "us-east-1"


@contextmanager
def server(iam: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"MOTO_ACCOUNT_ID": ACCOUNT, "STRATUS_IAM": iam}
    command = [sys.executable, "-m", "stratus.local.aws_server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/moto-api/data.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the embedded AWS ({iam}) did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(url: str, service: str, keys: dict[str, str]) -> Any:
    config = Config(retries={"max_attempts": 0}, tcp_keepalive=True)
    return new_session().client(service, endpoint_url=url, region_name=REGION, config=config, **keys)


def provision(url: str) -> dict[str, Callable[[], object]]:
    """The resources and the role; the calls to time, made with a session of the role."""
    dynamodb = client(url, "dynamodb", ROOT)
    dynamodb.create_table(TableName="bench-items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")  # fmt: skip
    dynamodb.put_item(TableName="bench-items", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    queue = client(url, "sqs", ROOT).create_queue(QueueName="bench-jobs")["QueueUrl"]
    s3 = client(url, "s3", ROOT)
    s3.create_bucket(Bucket="bench-uploads")
    s3.put_object(Bucket="bench-uploads", Key="k", Body=b"x" * 1024)
    secret = client(url, "secretsmanager", ROOT).create_secret(Name="bench-secret", SecretString="v")["ARN"]
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "TableItems", "Effect": "Allow", "Resource": [arn.format("dynamodb", "table/bench-items")],
         "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]},
        {"Sid": "QueueJobs", "Effect": "Allow", "Resource": [arn.format("sqs", "bench-jobs")],
         "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]},
        {"Sid": "BucketUploads", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": ["arn:aws:s3:::bench-uploads"]},
        {"Sid": "BucketUploadsObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::bench-uploads/*"]},
        {"Sid": "SecretBench", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [secret]},
    ]}  # fmt: skip
    iam = client(url, "iam", ROOT)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="bench-role", PolicyName="bench-policy", PolicyDocument=json.dumps(policy))
    issued = client(url, "sts", ROOT).assume_role(RoleArn=role, RoleSessionName="bench-fn")["Credentials"]
    keys = {"aws_access_key_id": issued["AccessKeyId"], "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"]}  # fmt: skip
    ddb, sqs, objects, secrets = (client(url, s, keys) for s in ("dynamodb", "sqs", "s3", "secretsmanager"))
    return {
        "dynamodb GetItem": lambda: ddb.get_item(TableName="bench-items", Key={"pk": {"S": "a"}}),
        "dynamodb PutItem": lambda: ddb.put_item(TableName="bench-items", Item={"pk": {"S": "b"}}),
        "sqs SendMessage": lambda: sqs.send_message(QueueUrl=queue, MessageBody="x"),
        "s3 GetObject": lambda: objects.get_object(Bucket="bench-uploads", Key="k")["Body"].read(),
        "secretsmanager GetSecretValue": lambda: secrets.get_secret_value(SecretId=secret),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls of each kind on each server")
    args = parser.parse_args()
    with server("enforce") as on_url, server("off") as off_url:
        on, off = provision(on_url), provision(off_url)
        timings: dict[str, dict[str, list[float]]] = {name: {"on": [], "off": []} for name in on}
        for name in on:
            for _ in range(50):  # warm: connections, caches
                on[name]()
                off[name]()
            for _ in range(args.calls):
                for side, call in (("on", on[name]), ("off", off[name])):
                    started = time.perf_counter()
                    call()
                    timings[name][side].append((time.perf_counter() - started) * 1000)
    print(
        f"{'call':32} {'off p50':>8} {'on p50':>8} {'added':>7} {'off p90':>8} {'on p90':>8}   (ms, {args.calls} each)"
    )
    for name, sides in [*timings.items(), ("all calls", {s: [t for v in timings.values() for t in v[s]]
                                                         for s in ("on", "off")})]:  # fmt: skip
        p50 = {s: statistics.median(sides[s]) for s in sides}
        p90 = {s: statistics.quantiles(sides[s], n=10)[-1] for s in sides}
        print(f"{name:32} {p50['off']:8.3f} {p50['on']:8.3f} {p50['on'] - p50['off']:+7.3f} "
              f"{p90['off']:8.3f} {p90['on']:8.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
