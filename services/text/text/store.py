"""The ``texts`` table: typing texts, and a random one of a difficulty without a scan.

The client is passed in (``TextStore(dynamodb_client, table)``), so the app, the direct invocations and the tests
share the code with whatever client they have. The table's hash key is ``text_id`` (S); its index ``by-difficulty``
has the hash key ``difficulty`` (S) and the range key ``random_key`` (N), projecting every attribute. An item::

    text_id     S   seed-easy-01, user-<hex>, generated-<hex>
    difficulty  S   easy | medium | hard
    random_key  N   uniform in [0, 1), 15 decimal digits: where the text sits in its difficulty's random order
    content     S   the normalised text (text.content)
    word_count  N
    source      S   seed | user | generated
    created_at  S   ISO 8601, UTC
    created_by  S   the principal that posted or generated it (not for seeds)
    model_id    S   the Bedrock model that generated it (generated only)
    topic       S   the topic it was generated about: the one asked for, or one picked (generated only)

A random text (:meth:`TextStore.random`) is two Queries at most, each reading one item: draw ``r`` uniformly in
[0, 1), take the first item of the difficulty with ``random_key >= r``; when there is none (``r`` is past the
last key), wrap around to the first item of the difficulty. A text is drawn with the probability of the gap
between its key and the key before it: the seeds of a difficulty get evenly spaced keys (turned by a random
offset, :func:`spread_random_keys`), so each is drawn equally often; a text added later gets a uniform random key
and lands in one of the gaps, so its chance is uneven, about ``1/n`` on average, evening out as texts multiply.
Never a Scan: the cost of a draw does not grow with the table.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from stratus_common.dynamo import is_conditional_check_failed
from stratus_common.settings import table_name
from stratus_common.times import Clock, iso, utc_now

from text.content import word_count

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from text.models import Difficulty, Source

__all__ = [
    "INDEX",
    "RANDOM_KEY_DIGITS",
    "TextExists",
    "TextRecord",
    "TextStore",
    "default_store",
    "dynamodb_client",
    "new_random_key",
    "new_text_id",
    "spread_random_keys",
]

INDEX = "by-difficulty"
RANDOM_KEY_DIGITS = 15
"""Decimal digits of a random key: 10**15 places in [0, 1), well inside DynamoDB's 38 digits of precision."""
_READINESS_KEY = "__readiness__"  # never a text id: TEXT_ID_PATTERN starts with a letter or digit
_RNG = random.Random()


def new_random_key(rng: random.Random) -> Decimal:
    """Return a number drawn uniformly from [0, 1) on a grid of 10**-15, as DynamoDB stores it exactly."""
    return Decimal(f"0.{rng.randrange(10**RANDOM_KEY_DIGITS):0{RANDOM_KEY_DIGITS}d}")


def spread_random_keys(rng: random.Random, count: int) -> list[Decimal]:
    """Return *count* keys evenly spaced around [0, 1), the whole set turned by a uniform random offset.

    Each key is on its own uniform in [0, 1), like :func:`new_random_key`'s, but the gaps between them are all
    ``1/count``: texts put together with these keys (the seeds) are drawn equally often.
    """
    scale = 10**RANDOM_KEY_DIGITS
    offset = rng.randrange(scale)
    return [Decimal(f"0.{(offset + index * scale // count) % scale:0{RANDOM_KEY_DIGITS}d}") for index in range(count)]


def new_text_id(source: Source) -> str:
    """Return a fresh id for a text of *source* ``user`` or ``generated``: ``user-<32 hex digits>``."""
    return f"{source}-{uuid.uuid4().hex}"


class TextExists(Exception):
    """A text with this id is already stored."""


@dataclass(frozen=True)
class TextRecord:
    """A text as stored."""

    text_id: str
    difficulty: Difficulty
    content: str
    source: Source
    created_at: str
    random_key: Decimal
    created_by: str | None = None
    model_id: str | None = None
    topic: str | None = None

    @property
    def word_count(self) -> int:
        """How many words the text has."""
        return word_count(self.content)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TextRecord:
        """Build a record from a DynamoDB item (low-level attribute values)."""

        def text(name: str) -> str | None:
            value = item.get(name)
            return value["S"] if value and "S" in value else None

        return cls(
            text_id=text("text_id") or "",
            difficulty=cast("Difficulty", text("difficulty") or "easy"),
            content=text("content") or "",
            source=cast("Source", text("source") or "user"),
            created_at=text("created_at") or "",
            random_key=Decimal(item.get("random_key", {}).get("N", "0")),
            created_by=text("created_by"),
            model_id=text("model_id"),
            topic=text("topic"),
        )

    def to_item(self) -> dict[str, Any]:
        """Return the DynamoDB item (low-level attribute values)."""
        item: dict[str, Any] = {
            "text_id": {"S": self.text_id},
            "difficulty": {"S": self.difficulty},
            "random_key": {"N": str(self.random_key)},
            "content": {"S": self.content},
            "word_count": {"N": str(self.word_count)},
            "source": {"S": self.source},
            "created_at": {"S": self.created_at},
        }
        for name in ("created_by", "model_id", "topic"):
            value = getattr(self, name)
            if value:
                item[name] = {"S": value}
        return item

    def public(self) -> dict[str, Any]:
        """Return what a client sees of the text (``text.models.Text``)."""
        return {
            "text_id": self.text_id,
            "difficulty": self.difficulty,
            "content": self.content,
            "word_count": self.word_count,
            "source": self.source,
            "created_at": self.created_at,
        }


class TextStore:
    """The texts table. *rng* draws the random keys and the random points (tests pass a seeded one)."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        *,
        rng: random.Random | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.rng = rng or _RNG
        self.clock = clock

    def new_record(
        self,
        difficulty: Difficulty,
        content: str,
        source: Source,
        *,
        text_id: str | None = None,
        random_key: Decimal | None = None,
        created_by: str | None = None,
        model_id: str | None = None,
        topic: str | None = None,
    ) -> TextRecord:
        """Return a record not stored yet, created now; its id and random key are fresh unless given."""
        return TextRecord(
            text_id=text_id or new_text_id(source),
            difficulty=difficulty,
            content=content,
            source=source,
            created_at=iso(self.clock()),
            random_key=new_random_key(self.rng) if random_key is None else random_key,
            created_by=created_by,
            model_id=model_id,
            topic=topic,
        )

    def get(self, text_id: str) -> TextRecord | None:
        """Return the text *text_id* (a strongly consistent read), or ``None``."""
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key={"text_id": {"S": text_id}}, ConsistentRead=True
        ).get("Item")
        return TextRecord.from_item(item) if item else None

    def create(self, record: TextRecord) -> None:
        """Store *record*, which must be new: :class:`TextExists` if its id is taken (it is never overwritten)."""
        if not self.put_if_absent(record):
            raise TextExists(record.text_id)

    def put_if_absent(self, record: TextRecord) -> bool:
        """Store *record* unless a text with its id exists; return whether it was stored."""
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=record.to_item(),
                ConditionExpression="attribute_not_exists(text_id)",
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                return False
            raise
        return True

    def random(self, difficulty: Difficulty) -> TextRecord | None:
        """Return a random text of *difficulty*, or ``None`` when it has none: at most two one-item Queries."""
        point = new_random_key(self.rng)
        found = self._first(difficulty, point)
        if found is None:  # past the last key: wrap around to the first
            found = self._first(difficulty, None)
        return found

    def _first(self, difficulty: Difficulty, at_least: Decimal | None) -> TextRecord | None:
        condition = "difficulty = :d"
        values: dict[str, Any] = {":d": {"S": difficulty}}
        if at_least is not None:
            condition += " AND random_key >= :r"
            values[":r"] = {"N": str(at_least)}
        items = self.dynamodb.query(
            TableName=self.table_name,
            IndexName=INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=1,
        ).get("Items", [])
        return TextRecord.from_item(items[0]) if items else None

    def ping(self) -> None:
        """Make one cheap read of the table (a key that never exists); raise if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"text_id": {"S": _READINESS_KEY}})


def dynamodb_client() -> DynamoDBClient:
    """The process's DynamoDB client, with ``FAST_CONFIG``: 2 s to connect, 5 s to read, standard retries."""
    from stratus_common.aws import FAST_CONFIG, client  # imported on first use: not on the cold start

    return client("dynamodb", config=FAST_CONFIG)


def default_store() -> TextStore:
    """The texts table (``TEXTS_TABLE_NAME``), with the process's DynamoDB client."""
    return TextStore(dynamodb_client(), table_name("texts"))
