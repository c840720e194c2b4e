"""What :meth:`stratus.testing.cloud.StratusCloud.fresh` empties: every declared table, queue (and DLQ) and bucket
of the local AWS, and every table of the databases but their migrations' own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stratus.manifest.plan import Plan

__all__ = ["empty"]


def empty(plan: Plan, aws: Callable[[str], Any], queue_urls: Iterable[str], databases: Iterable[str]) -> None:
    """Empty the tables and buckets of ``plan`` (through ``aws(service)`` clients), the queues at ``queue_urls``,
    and the databases at the URLs ``databases``."""
    dynamodb = aws("dynamodb")
    for table in plan.tables.values():
        keys = [k for k in (table.spec.hash_key, table.spec.range_key) if k]
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=table.aws_name,
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
            ExpressionAttributeNames={f"#k{i}": key for i, key in enumerate(keys)},
        ):
            items = page["Items"]
            for start in range(0, len(items), 25):  # BatchWriteItem takes 25 at most
                batch = [{"DeleteRequest": {"Key": item}} for item in items[start : start + 25]]
                dynamodb.batch_write_item(RequestItems={table.aws_name: batch})
    sqs = aws("sqs")
    for url in queue_urls:
        sqs.purge_queue(QueueUrl=url)
    s3 = aws("s3")
    for bucket in plan.buckets.values():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket.aws_name):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if doomed:
                s3.delete_objects(Bucket=bucket.aws_name, Delete={"Objects": doomed, "Quiet": True})
    for url in databases:
        _truncate(url)


def _truncate(url: str) -> None:
    """Empty every table of the database's public schema but Alembic's ``alembic_version``."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            names = sql.SQL(", ").join(sql.Identifier("public", table) for table in tables)
            connection.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))
