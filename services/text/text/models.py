"""The text API's request and response bodies.

- ``difficulty``: ``easy``, ``medium`` or ``hard`` (:data:`DIFFICULTIES`);
- ``content``: a typing text, :func:`text.content.normalise_content` (20 to 2000 characters once whitespace is
  normalised, letters, digits, punctuation and spaces);
- ``text_id`` (a path parameter): :data:`TEXT_ID_PATTERN`.

Every error answer has the one shape of :class:`stratus_common.errors.ErrorResponse`.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from text.content import MAX_LENGTH, MAX_TOPIC_LENGTH, MIN_LENGTH, normalise_content, normalise_topic

__all__ = [
    "DIFFICULTIES",
    "MAX_RAW_CONTENT",
    "TEXT_ID_PATTERN",
    "Content",
    "Difficulty",
    "GenerateRequest",
    "Source",
    "Text",
    "TextCreate",
]

Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = get_args(Difficulty)
Source = Literal["seed", "user", "generated"]

TEXT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""A text id: 1 to 64 letters, digits, ``_`` and ``-``, the first alphanumeric (``seed-easy-01``, ``user-<hex>``)."""

MAX_RAW_CONTENT = 4 * MAX_LENGTH
"""The longest ``content`` accepted before normalising (whitespace may shrink it): a bound on the per-character scan."""

Content = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_RAW_CONTENT,
        description=(
            f"The text to type: {MIN_LENGTH} to {MAX_LENGTH} characters once whitespace is normalised (every run of "
            "spaces, tabs and newlines becomes one space); letters, digits, punctuation, spaces and the symbols a "
            "keyboard types; no control characters, emoji or invisible characters. Curly quotes and dashes become "
            "their plain forms."
        ),
        examples=["The quick brown fox jumps over the lazy dog while the cat sleeps in the sun."],
    ),
    AfterValidator(normalise_content),
]
Topic = Annotated[
    str | None,
    Field(
        max_length=4 * MAX_TOPIC_LENGTH,
        description=f"What the text should be about: at most {MAX_TOPIC_LENGTH} characters; blank or null: any.",
        examples=["a rainy day at the harbour"],
    ),
    AfterValidator(normalise_topic),
]


class TextCreate(BaseModel):
    """The body of ``POST /texts``: a text a player wrote."""

    model_config = ConfigDict(extra="forbid")

    difficulty: Difficulty
    content: Content


class GenerateRequest(BaseModel):
    """The body of ``POST /texts/generate``: the difficulty, and optionally a topic."""

    model_config = ConfigDict(extra="forbid")

    difficulty: Difficulty
    topic: Topic = None


class Text(BaseModel):
    """A typing text, as the API shows it."""

    text_id: str
    difficulty: Difficulty
    content: str
    word_count: int = Field(ge=0)
    source: Source = Field(description="seed (built in), user (posted) or generated (by the Bedrock model)")
    created_at: str = Field(description="ISO 8601, UTC")
