"""The built-in texts, and the seeding that puts them in the table on first use.

Ten texts per difficulty, written for this game: ``easy`` is short sentences of short common words, ``medium``
longer sentences with commas, ``hard`` long sentences with numbers, quotes, parentheses, colons and semicolons.
Their ids are fixed: ``seed-easy-01`` ... ``seed-hard-10``.

Seeding happens on first use, in each execution environment (a Lambda instance, a ``stratus dev`` process):
the first time a random draw of a difficulty finds no text (a fresh deploy, a fresh local cloud), or a seed id
is read and is not there, the difficulty's seeds are put, each with ``attribute_not_exists(text_id)``, with
evenly spaced random keys (so each seed is drawn equally often). Two
instances seeding at once is safe: the second one's puts fail their condition and leave the texts as they are.
An environment seeds a difficulty at most once: if an operator later deletes every text of a difficulty, it is
empty (404) until a new environment starts.

The ``by-difficulty`` index is eventually consistent, so a draw right after seeding may not see the seeds yet: it
then reads one of them by its id instead (a strongly consistent GetItem).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from text.store import spread_random_keys

if TYPE_CHECKING:
    from text.models import Difficulty
    from text.store import TextRecord, TextStore

__all__ = [
    "SEED_TEXTS",
    "find_text",
    "forget_seeding",
    "random_text",
    "seed",
    "seed_difficulty",
    "seed_id",
    "seed_ids",
]

SEED_TEXTS: dict[Difficulty, tuple[str, ...]] = {
    "easy": (
        "The sun is up and the sky is blue. We walk to the park and sit on the grass. "
        "A small dog runs by and we all laugh.",
        "My cat likes to sleep in the sun. She naps on the mat by the door. "
        "When I come home she wakes up and asks for food.",
        "We had soup and bread for lunch. Then we went out to play in the yard. "
        "It was a good day and we did not want it to end.",
        "Tom has a red bike. He rides it to school each day. "
        "He likes to go fast down the hill, but he is careful at the end.",
        "It rained all night, so the road is wet. I put on my boots and my coat. "
        "The air smells fresh and clean after the rain.",
        "Dad makes eggs and toast on Sunday. I help him set the table. "
        "We eat slowly, talk a lot, and then wash the cups.",
        "The old tree in our yard is very tall. Birds make nests in it each spring. "
        "In the fall its leaves turn gold and red.",
        "Can you hear the sea? The waves come in and go out. "
        "We look for shells in the sand and take a few home with us.",
        "I like to read a book in bed. The lamp is soft and the room is quiet. "
        "Most nights I fall asleep before the last page.",
        "Mom grows beans and corn in the garden. I help her pull the weeds. "
        "Soon we will pick the food and cook a big meal.",
    ),
    "medium": (
        "Every morning, the baker unlocks the small shop on the corner before the streetlights go out. By the time "
        "the first customers arrive, the shelves are full of warm bread, sweet rolls, and loaves with crisp, golden "
        "crusts. Most people buy the same thing each day, but now and then someone tries something new.",
        "The library was nearly empty on Tuesday afternoon. A student sat by the window, taking careful notes, while "
        "an old man turned the pages of a newspaper. Somewhere between the shelves, a cart squeaked as a librarian "
        "returned books to their places. It was the kind of quiet that made you want to stay.",
        "Learning to play the guitar takes patience. At first, your fingers hurt, the chords sound muddy, and "
        "switching between them feels impossible. After a few weeks of steady practice, though, something changes. "
        "The notes ring clearly, your hands remember where to go, and you begin to enjoy the music.",
        "When the storm finally passed, the whole town came outside to look around. Branches covered the streets, "
        "and a few fences had fallen over, but nobody was hurt. Neighbors who rarely spoke to each other were soon "
        "working side by side, dragging limbs to the curb and sharing coffee from a large thermos.",
        "The train left the station just after dawn, heading north through fields still wet with dew. Inside, "
        "passengers settled into their seats with books, laptops, and paper cups of tea. A child pressed her face "
        "against the window, counting cows, while her father tried to finish a crossword.",
        "Our team had spent months planning the garden, and the first harvest was better than anyone expected. "
        "There were tomatoes of every size, bright peppers, and more zucchini than we knew what to do with. We set "
        "up a table by the gate so that anyone walking past could take what they needed.",
        "Good habits are rarely built in a single day. It helps to start small, such as reading ten pages each night "
        "or walking for twenty minutes after dinner. Once a habit feels natural, you can make it a little harder. "
        "Over time, these small steps add up to real and lasting change.",
        "The museum's newest exhibit explains how maps have changed over the centuries. Early maps were often "
        "beautiful but wildly inaccurate, with sea monsters drawn in the empty spaces. Later, careful surveys and "
        "better tools made them more precise, and today satellites measure the land in astonishing detail.",
        "On the last day of summer camp, everyone gathered around the fire to share their favorite memories. Some "
        "told funny stories about canoe trips that went wrong, while others talked about the friends they had made. "
        "As the fire burned low, the counselors handed out small wooden badges.",
        "Cooking for a large group is easier with a plan. Write down the menu, make a list of ingredients, and "
        "decide which dishes can be prepared the day before. On the day itself, start with whatever takes the "
        "longest, and ask a friend to help with the washing up as you go.",
    ),
    "hard": (
        "In 1969, roughly 600 million people watched the first crewed Moon landing on television; many of them "
        "remembered the grainy pictures for decades. The Apollo 11 crew (Armstrong, Aldrin, and Collins) had trained "
        "for years, yet the powered descent itself lasted only about 13 minutes. With fuel running low, Armstrong "
        "steered past a field of boulders and set the lander down with seconds to spare.",
        "The recipe calls for 250 g of flour, 2 eggs, 180 ml of milk, and a pinch of salt. Whisk the eggs first; "
        "then add the milk gradually, stirring constantly to avoid lumps. Let the batter rest for 30 minutes (an "
        "hour is even better) before cooking. Heat the pan until a drop of water sizzles, pour in about 60 ml, and "
        "tilt it quickly so the batter spreads thin and even.",
        '"Measure twice, cut once," the carpenter said, tapping the pencil mark on the board. His apprentice, who '
        "had already ruined three expensive planks that week, nodded without a word. The cabinet needed 14 shelves, "
        "each exactly 37.5 cm wide; a mistake of even 2 mm would leave an ugly gap. By Friday afternoon, every shelf "
        "slid into place with a satisfying click.",
        "Photosynthesis converts light energy into chemical energy: plants absorb carbon dioxide and water, then "
        "release oxygen as a by-product. The process takes place mainly in the chloroplasts, whose green pigment "
        "(chlorophyll) captures red and blue light while reflecting green; one leaf cell may hold 50 of them. The "
        "overall equation looks simple, but the chemistry behind it involves dozens of steps and enzymes.",
        "The quarterly report showed revenue of $4.2 million, up 18% from the same period last year; however, "
        "operating costs had risen even faster. Analysts pointed to three causes: higher shipping rates, a delayed "
        "software rollout, and an unexpected spike in returns during March. The board's response was cautious but "
        "clear (freeze hiring, renegotiate contracts, and review every project over $50,000) until sales recover.",
        "Mount Everest's summit stands at 8,849 meters, yet the most dangerous part of the climb is often the "
        "descent. Exhausted climbers, low on oxygen and fighting the cold, must cross narrow ridges where one "
        "careless step can be fatal. Experienced guides insist on a strict turnaround time (usually 1 or 2 p.m.), "
        "no matter how close the summit appears.",
        "Version 3.0 of the app introduced a redesigned interface, offline support, and end-to-end encryption; "
        "unfortunately, it also shipped with a bug that deleted drafts older than 30 days. Within 48 hours, the "
        "developers had published a fix (3.0.1), restored most of the lost data from backups, and written a frank "
        'apology. "We moved too fast," the lead engineer admitted, "and our users paid for it."',
        "Roman aqueducts carried water over distances of up to 90 kilometers, relying on nothing but gravity and a "
        "remarkably precise gradient. Some channels dropped as little as 25 centimeters per kilometer; too steep, "
        "and the water would wear away the stone, too shallow, and it would stagnate. Parts of the Aqua Virgo, "
        "completed in 19 B.C., still feed fountains in Rome today.",
        'Chess players often speak of "tempo," the idea that each move should gain time rather than waste it. In '
        "the opening, developing a knight to f3 or c3 both controls the center and prepares castling; moving the "
        "same piece twice, by contrast, usually hands the initiative to your opponent. Grandmasters can calculate "
        "10 or 15 moves ahead, but even they rely heavily on pattern recognition.",
        "Between 1850 and 1900, the population of many European cities more than doubled, placing enormous strain "
        "on housing, sanitation, and transport. Cholera outbreaks (notably London's in 1854) forced engineers and "
        "doctors to rethink how cities handled waste. Joseph Bazalgette's sewers, over 1,600 km of tunnels, took "
        "nearly two decades to build; they remain in use, with changes, to this day.",
    ),
}

_SEED_ID = re.compile(r"^seed-(easy|medium|hard)-(\d{2})$")
_seeded: set[Difficulty] = set()
"""The difficulties this execution environment has seeded."""


def seed_id(difficulty: Difficulty, number: int) -> str:
    """The id of seed *number* (from 1) of *difficulty*: ``seed-easy-01``."""
    return f"seed-{difficulty}-{number:02d}"


def seed_ids(difficulty: Difficulty) -> list[str]:
    """The ids of the seeds of *difficulty*."""
    return [seed_id(difficulty, number) for number in range(1, len(SEED_TEXTS[difficulty]) + 1)]


def seed_difficulty(text_id: str) -> Difficulty | None:
    """The difficulty of the built-in text *text_id*, or ``None`` when it is not one."""
    match = _SEED_ID.match(text_id)
    if match is None:
        return None
    difficulty = cast("Difficulty", match.group(1))
    return difficulty if 1 <= int(match.group(2)) <= len(SEED_TEXTS[difficulty]) else None


def seed(store: TextStore, difficulty: Difficulty) -> int:
    """Put the seeds of *difficulty* that are not in the table yet; return how many were put.

    Each put is conditional (``attribute_not_exists``), so a concurrent seeding, or a seed already there, is left
    alone. The difficulty counts as seeded by this environment once every put has been answered.
    """
    texts = SEED_TEXTS[difficulty]
    keys = spread_random_keys(store.rng, len(texts))  # evenly spaced: every seed is drawn equally often
    written = 0
    for number, (content, key) in enumerate(zip(texts, keys, strict=True), start=1):
        record = store.new_record(difficulty, content, "seed", text_id=seed_id(difficulty, number), random_key=key)
        written += store.put_if_absent(record)
    _seeded.add(difficulty)
    return written


def random_text(store: TextStore, difficulty: Difficulty) -> TextRecord | None:
    """A random text of *difficulty* (:meth:`TextStore.random`), seeding the difficulty when it has none.

    ``None`` when the difficulty has no text, even after this environment seeded it.
    """
    found = store.random(difficulty)
    if found is not None:
        return found
    if difficulty not in _seeded:
        seed(store, difficulty)
    # The index may not show the seeds yet (it is eventually consistent): read one of them by its id.
    return store.get(store.rng.choice(seed_ids(difficulty)))


def find_text(store: TextStore, text_id: str) -> TextRecord | None:
    """The text *text_id*; a seed id not in the table yet seeds its difficulty first (once per environment)."""
    found = store.get(text_id)
    difficulty = seed_difficulty(text_id)
    if found is None and difficulty is not None and difficulty not in _seeded:
        seed(store, difficulty)
        found = store.get(text_id)
    return found


def forget_seeding() -> None:
    """Forget which difficulties this environment seeded (tests that start from an empty table call it)."""
    _seeded.clear()
