"""SQS -> Lambda through `stratus dev`: messages/s at batch size 10 and send-to-handler latency, at queue
depths 0, 1,000 and 10,000.

For each depth D, a fresh stack with one queue and one Lambda whose trivial consumer handler appends, per
record, the time from SendTimestamp to the handler. D messages are sent while no event source consumes the
queue (the backlog), then the consumer is declared in stratus.toml, which the running stack applies, and
the stack drains the backlog while 500 more messages are sent at once. Reported: drain throughput
(messages/s from the first to the last handled message) and the latency p50/p99 of the messages sent after
the backlog (they wait behind it: that is what a backlog does). Depth 0 is the 500 messages alone, and
before them 100 messages sent one every 50 ms into the idle queue: the latency of a single message.

Run: .venv/bin/python bench/sqs.py [--depths 0,1000,10000]   (from the repository root; ~2 min)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.devstack import DevStack

HANDLER = """
import json, os, time

OUT = os.environ["RECORDS"]


def handler(event, context):
    now = time.time()
    with open(OUT, "a") as out:
        for record in event["Records"]:
            sent = int(record["attributes"]["SentTimestamp"]) / 1000
            out.write(json.dumps({"body": record["body"], "latency": now - sent, "at": now}) + "\\n")
    return {"batchItemFailures": []}


def web(event, context):
    return {"statusCode": 200, "body": "ok"}
"""

MANIFEST = """
[project]
name = "sqsbench"

[services.sink]
kind = "lambda"
path = "/sink"
handler = "sink.main.web"
timeout = 30
env = {{ RECORDS = "{records}" }}
uses = {{ work = "send" }}
{consumes}
[queues.work]
visibility_timeout = 60
"""
CONSUMES = 'consumes = [{ queue = "work", handler = "sink.main.handler", batch_size = 10 }]\n'


def project(root: Path, *, consuming: bool) -> None:
    records = root / "records.jsonl"
    (root / "stratus.toml").write_text(
        textwrap.dedent(MANIFEST.format(records=records, consumes=CONSUMES if consuming else ""))
    )


def send(client: Any, url: str, count: int, tag: str) -> None:
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": f"{tag}-{start + i}"} for i in range(min(10, count - start))]
        client.send_message_batch(QueueUrl=url, Entries=entries)


def measure(depth: int, probes: int = 500) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        package = root / "services" / "sink" / "sink"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(HANDLER)
        project(root, consuming=False)
        stack = DevStack(root, "--no-access-log")
        try:
            aws = str(stack.state()["aws"])
            client = boto3.client("sqs", endpoint_url=aws, region_name="us-east-1", aws_access_key_id="x",
                                  aws_secret_access_key="x")  # fmt: skip
            url = client.get_queue_url(QueueName="sqsbench-dev-work")["QueueUrl"]
            filled = time.monotonic()
            send(client, url, depth, "backlog")
            fill_s = time.monotonic() - filled
            project(root, consuming=True)  # the running stack starts the event source
            if depth == 0:  # first, one message at a time: the latency of an idle queue
                deadline = time.monotonic() + 30
                while not (root / "records.jsonl").exists() and time.monotonic() < deadline:
                    client.send_message(QueueUrl=url, MessageBody="warm")
                    time.sleep(0.5)
                for i in range(100):
                    client.send_message(QueueUrl=url, MessageBody=f"paced-{i}")
                    time.sleep(0.05)
            expected = depth + probes + (100 if depth == 0 else 0)
            send(client, url, probes, "probe")
            records_path = root / "records.jsonl"
            deadline = time.monotonic() + 600
            while True:
                lines = records_path.read_text().splitlines() if records_path.exists() else []
                done = [line for line in lines if '"warm' not in line]
                if len(done) >= expected or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        finally:
            stack.stop()
        records = [json.loads(line) for line in lines]
        handled = sorted(r["at"] for r in records if not r["body"].startswith(("paced", "warm")))
        probe_latency = sorted(r["latency"] for r in records if r["body"].startswith("probe"))
        paced = sorted(r["latency"] for r in records if r["body"].startswith("paced"))
        span = handled[-1] - handled[0] if len(handled) > 1 else float("nan")
        out = {
            "depth": depth,
            "fill_s": round(fill_s, 2),
            "handled": len(records),
            "messages_per_s": round(len(handled) / span, 1) if span else float("nan"),
            "probe_p50_ms": round(statistics.median(probe_latency) * 1000, 1),
            "probe_p99_ms": round(probe_latency[int(len(probe_latency) * 0.99) - 1] * 1000, 1),
        }
        if paced:
            out["idle_p50_ms"] = round(statistics.median(paced) * 1000, 1)
            out["idle_p99_ms"] = round(paced[int(len(paced) * 0.99) - 1] * 1000, 1)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", default="0,1000,10000")
    args = parser.parse_args()
    results = [measure(int(d)) for d in args.depths.split(",")]
    print(f"{'depth':>7} {'fill s':>7} {'handled':>8} {'msg/s':>8} {'p50 ms':>9} {'p99 ms':>9}")
    for r in results:
        print(f"{r['depth']:>7} {r['fill_s']:>7} {r['handled']:>8} {r['messages_per_s']:>8} "
              f"{r['probe_p50_ms']:>9} {r['probe_p99_ms']:>9}")  # fmt: skip
        if "idle_p50_ms" in r:
            idle = f"p50 {r['idle_p50_ms']} ms, p99 {r['idle_p99_ms']} ms"
            print(f"        one message at a time into an idle queue: {idle}")
    out = Path(__file__).parent / "results" / f"sqs-{time.strftime('%Y-%m-%d')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
