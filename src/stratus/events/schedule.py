"""EventBridge -> Lambda: the Scheduled Event a rule delivers
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def scheduled_event(*, rule_arn: str, account_id: str, region: str, when: datetime | None = None) -> dict[str, Any]:
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def rule_arn(*, region: str, account_id: str, rule: str) -> str:
    return f"arn:aws:events:{region}:{account_id}:rule/{rule}"
