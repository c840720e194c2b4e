"""The random draw and the seeding: fair enough, of the right difficulty, and never a Scan."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from text.models import DIFFICULTIES
from text.seed import SEED_TEXTS, find_text, random_text, seed, seed_difficulty, seed_ids
from text.store import INDEX, TextStore, dynamodb_client, new_random_key, spread_random_keys

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from .conftest import Cloud

ALLOWED_OPERATIONS = {"Query", "GetItem", "PutItem"}
DRAWS = 200


class FixedPoints(random.Random):
    """A generator whose ``randrange`` gives the points queued, as fractions of the range."""

    def __init__(self, *points: float) -> None:
        super().__init__(0)
        self.points = list(points)

    def randrange(self, *args: Any, **kwargs: Any) -> int:
        return int(self.points.pop(0) * args[0])


def _store(cloud: Cloud, rng: random.Random) -> TextStore:
    return TextStore(dynamodb_client(), cloud.table, rng=rng)


def test_every_seed_is_drawn_and_only_of_its_difficulty(
    cloud: Cloud, seeded_rng: random.Random, client: TestClient
) -> None:
    # GIVEN texts of the other difficulties, the hard ones at the ends of the key range
    cloud.put("user-hard-low", "hard", "A hard text; with 3 numbers: 1, 2.", random_key="0")
    cloud.put("user-hard-high", "hard", "A hard text; with 3 numbers: 4, 5.", random_key="0.999999999999999")
    cloud.put("user-easy", "easy", "An easy text for the cat and the dog.", random_key="0.5")
    # WHEN many random medium texts are drawn
    drawn = Counter()
    for _ in range(DRAWS):
        response = client.get("/random", params={"difficulty": "medium"})
        assert response.status_code == 200
        body = response.json()
        # THEN each is a medium text...
        assert body["difficulty"] == "medium"
        drawn[body["text_id"]] += 1
    # ... every medium seed turns up, about equally often (their keys are evenly spaced)
    assert set(drawn) == set(seed_ids("medium"))
    assert min(drawn.values()) >= DRAWS / 10 / 3
    # AND the draws were Queries, GetItems and the seeding's PutItems: never a Scan
    assert set(cloud.operations) <= ALLOWED_OPERATIONS
    assert cloud.operations.count("PutItem") == 10


def test_a_draw_is_one_or_two_single_item_queries_of_the_index(cloud: Cloud, seeded_rng: random.Random) -> None:
    store = _store(cloud, seeded_rng)
    seed(store, "easy")
    cloud.calls.clear()
    for _ in range(50):
        cloud.calls.clear()
        assert store.random("easy") is not None
        assert 1 <= len(cloud.calls) <= 2
        for name, params in cloud.calls:
            assert name == "Query"
            assert (params["IndexName"], params["Limit"]) == (INDEX, 1)
            assert params["ExpressionAttributeValues"][":d"] == {"S": "easy"}


def test_a_point_past_the_last_key_wraps_around_to_the_first(cloud: Cloud) -> None:
    # GIVEN two easy texts, at 0.2 and 0.6
    cloud.put("user-a", "easy", "The first text of the easy ones.", random_key="0.2")
    cloud.put("user-b", "easy", "The second text of the easy ones.", random_key="0.6")
    # WHEN the points drawn are 0.1, 0.5 and 0.9
    store = _store(cloud, FixedPoints(0.1, 0.5, 0.9, 0.6))
    drawn = [store.random("easy") for _ in range(4)]
    # THEN each gives the first text at or after it, 0.9 wrapping around to the first of all
    assert [text.text_id if text else None for text in drawn] == ["user-a", "user-b", "user-a", "user-b"]
    assert cloud.operations == ["Query", "Query", "Query", "Query", "Query"]  # only 0.9 needed a second


def test_a_difficulty_without_texts_draws_nothing(cloud: Cloud) -> None:
    store = _store(cloud, random.Random(1))
    assert store.random("hard") is None
    assert cloud.operations == ["Query", "Query"]


def test_seeding_is_conditional_and_safe_to_repeat(cloud: Cloud) -> None:
    # GIVEN one easy seed is already there, as another environment put it
    cloud.put("seed-easy-01", "easy", SEED_TEXTS["easy"][0], random_key="0.123", source="seed")
    store = _store(cloud, random.Random(7))
    # WHEN this environment seeds, twice
    first = seed(store, "easy")
    second = seed(store, "easy")
    # THEN the missing nine are put, the existing one is left as it was, and the second seeding puts nothing
    assert (first, second) == (9, 0)
    items = {item["text_id"]["S"]: item for item in cloud.items()}
    assert set(items) == set(seed_ids("easy"))
    assert items["seed-easy-01"]["random_key"] == {"N": "0.123"}
    assert all(params["ConditionExpression"] == "attribute_not_exists(text_id)" for _, params in cloud.calls)


def test_a_draw_seeds_once_per_environment(cloud: Cloud) -> None:
    store = _store(cloud, random.Random(3))
    assert random_text(store, "hard") is not None
    assert cloud.operations.count("PutItem") == 10
    for item in cloud.items():  # an operator empties the table
        cloud.dynamodb.delete_item(TableName=cloud.table, Key={"text_id": item["text_id"]})
    cloud.calls.clear()
    assert random_text(store, "hard") is None
    assert "PutItem" not in cloud.operations


def test_right_after_seeding_a_lagging_index_still_gives_a_seed(cloud: Cloud) -> None:
    # GIVEN an index that does not show the seeds yet (a GSI is eventually consistent)
    class LaggingIndex(TextStore):
        def random(self, difficulty: Any) -> Any:
            return None

    store = LaggingIndex(dynamodb_client(), cloud.table, rng=random.Random(5))
    # WHEN a random easy text is drawn, before and after the seeding
    for _ in range(3):
        found = random_text(store, "easy")
        # THEN one of the seeds is read by its id
        assert found is not None
        assert found.text_id in seed_ids("easy")
    assert cloud.operations.count("PutItem") == 10


def test_a_seed_is_read_by_id_after_seeding_its_difficulty(cloud: Cloud) -> None:
    store = _store(cloud, random.Random(9))
    found = find_text(store, "seed-medium-10")
    assert found is not None
    assert (found.content, found.source, found.difficulty) == (SEED_TEXTS["medium"][9], "seed", "medium")
    assert {item["difficulty"]["S"] for item in cloud.items()} == {"medium"}


@pytest.mark.parametrize(
    ("text_id", "difficulty"),
    [
        ("seed-easy-01", "easy"),
        ("seed-hard-10", "hard"),
        ("seed-medium-00", None),
        ("seed-medium-11", None),
        ("seed-expert-01", None),
        ("user-seed-easy-01", None),
    ],
)
def test_seed_ids(text_id: str, difficulty: str | None) -> None:
    assert seed_difficulty(text_id) == difficulty


def test_random_keys_are_on_a_grid_in_the_unit_interval() -> None:
    rng = random.Random(11)
    for _ in range(200):
        key = new_random_key(rng)
        assert Decimal(0) <= key < Decimal(1)
        assert key == key.quantize(Decimal("1e-15"))
    assert new_random_key(FixedPoints(0.0)) == Decimal(0)


@pytest.mark.parametrize("count", [1, 3, 10, 7])
def test_spread_keys_are_evenly_spaced_around_the_circle(count: int) -> None:
    keys = sorted(spread_random_keys(random.Random(count), count))
    gaps = [b - a for a, b in itertools.pairwise(keys)] + [keys[0] + 1 - keys[-1]]
    assert all(Decimal(0) <= key < 1 for key in keys)
    assert max(gaps) - min(gaps) <= Decimal("1e-15")


def test_every_difficulty_has_ten_seeds() -> None:
    assert {difficulty: len(SEED_TEXTS[difficulty]) for difficulty in DIFFICULTIES} == {
        "easy": 10,
        "medium": 10,
        "hard": 10,
    }
