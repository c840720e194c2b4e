"""The event a schedule delivers to its function.

A service's ``schedules`` deploy as EventBridge rules with a schedule expression (src/stratus/infra/modules/
lambda-service/main.tf: ``aws_cloudwatch_event_rule`` named after the function, its target the function), not as
EventBridge Scheduler schedules: what AWS delivers for such a rule is the Scheduled Event, ``source``
``aws.events``, ``resources`` the rule's ARN. The queue lab (tests/e2e/lab.py) has a daily schedule
``consumer.tick`` whose handler appends the event it got to ``<root>/deliveries.jsonl``; ``stratus trigger``
fires it now. Its shape is compared with ``tests/events/eventBridgeEvent.json`` (aws-powertools' EventBridge
event, the documentation's sample).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from stratus.testing.launcher import DevStack
from tests.events import load_event

pytestmark = pytest.mark.e2e

TUTORIAL = "DOC https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html"
EVENTS = "DOC https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html"
SAMPLE_EVENT = (
    "OBS aws/aws-lambda-rust-runtime example-eventbridge-schedule.json (a rule's Scheduled Event: version 0, "
    "detail-type 'Scheduled Event', source aws.events, time '2015-10-08T16:53:06Z', resources [rule ARN], detail {})"
)
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/qlab-dev-consumer-tick"


def scheduled(stack: DevStack) -> list[dict[str, Any]]:
    path = stack.root / "deliveries.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [entry for line in lines if "scheduled" in (entry := json.loads(line))]


@pytest.fixture(scope="module")
def fired(queue_lab: DevStack) -> Iterator[tuple[list[dict[str, Any]], float]]:
    """Two firings of ``consumer.tick``: what the function got each time, and when they started."""
    before = len(scheduled(queue_lab))
    started = time.time()
    for _ in range(2):
        done = queue_lab.run("trigger", "consumer.tick")
        assert done.returncode == 0, done.stderr
    yield scheduled(queue_lab)[before:], started


def event(fired: tuple[list[dict[str, Any]], float]) -> dict[str, Any]:
    delivered: dict[str, Any] = fired[0][0]["scheduled"]
    return delivered


@pytest.mark.aws(SAMPLE_EVENT + "; OBS aws-powertools tests/events/eventBridgeEvent.json (the EventBridge envelope)")
def test_the_event_has_the_keys_and_types_of_awss_eventbridge_event(fired: Any) -> None:
    sample = load_event("eventBridgeEvent")
    sample.pop("replay-name")  # only in events replayed from an archive
    delivered = event(fired)
    assert set(delivered) == set(sample)
    assert {k: type(v) for k, v in delivered.items()} == {k: type(v) for k, v in sample.items()}


@pytest.mark.aws(EVENTS + ' (version: "0" in every event)')
def test_the_version_is_0(fired: Any) -> None:
    assert event(fired)["version"] == "0"


@pytest.mark.aws(EVENTS + " (id: a version-4 UUID for every event)")
def test_the_id_is_a_uuid(fired: Any) -> None:
    identifier = event(fired)["id"]
    assert uuid.UUID(identifier).version == 4 and str(uuid.UUID(identifier)) == identifier


@pytest.mark.aws(EVENTS + " (id: unique for every event)")
def test_each_firing_has_its_own_id(fired: Any) -> None:
    deliveries, _ = fired
    assert len(deliveries) == 2
    assert deliveries[0]["scheduled"]["id"] != deliveries[1]["scheduled"]["id"]


@pytest.mark.aws(SAMPLE_EVENT + "; " + TUTORIAL)
def test_the_detail_type_is_scheduled_event(fired: Any) -> None:
    assert event(fired)["detail-type"] == "Scheduled Event"


@pytest.mark.aws(
    SAMPLE_EVENT + " (a rule's schedule: source aws.events; EventBridge Scheduler would send aws.scheduler, "
    "and the infrastructure deploys rules)"
)
def test_the_source_is_aws_events_as_for_a_scheduled_rule(fired: Any) -> None:
    assert event(fired)["source"] == "aws.events"


@pytest.mark.aws(EVENTS + " (account: the 12-digit account the event comes from)")
def test_the_account_is_the_stacks_account(fired: Any) -> None:
    assert event(fired)["account"] == "123456789012"


@pytest.mark.aws(EVENTS + " (region: the Region the event comes from)")
def test_the_region_is_the_stacks_region(fired: Any) -> None:
    assert event(fired)["region"] == "us-east-1"


@pytest.mark.aws(SAMPLE_EVENT + " (time: ISO-8601 UTC to the second, '2015-10-08T16:53:06Z')")
def test_the_time_is_utc_to_the_second_when_it_fired(fired: Any) -> None:
    deliveries, started = fired
    for delivery in deliveries:
        stamp = delivery["scheduled"]["time"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        assert started - 1 <= moment <= time.time()


@pytest.mark.aws(
    SAMPLE_EVENT + " (resources: the rule's ARN, arn:aws:events:<region>:<account>:rule/<name>); the rule is "
    "named after its function (lambda-service/main.tf)"
)
def test_the_resources_are_the_rules_arn(fired: Any) -> None:
    assert event(fired)["resources"] == [RULE_ARN]


@pytest.mark.aws(SAMPLE_EVENT + " (detail: {})")
def test_the_detail_is_an_empty_object(fired: Any) -> None:
    assert event(fired)["detail"] == {}


@pytest.mark.aws(TUTORIAL + " (the rule's target: the function it runs)")
def test_the_schedule_invokes_its_own_function(fired: Any) -> None:
    deliveries, _ = fired
    assert {d["function"] for d in deliveries} == {"qlab-dev-consumer-tick"}
