"""What a typing text may contain, and how a submitted or generated text is put into shape.

A typing text is one line of prose a player types on a keyboard. :func:`normalise_content` is the rule every
stored text follows (``POST /texts``, the generator's output and the built-in seeds alike):

1. Refused outright: control characters other than tab, newline and carriage return (``NUL``, ``ESC``, the C1
   range, ...) and lone surrogates (not text at all, and DynamoDB cannot store them);
2. NFC-normalised, then typographic punctuation becomes what a keyboard types: curly quotes ``' "``,
   dashes ``-``, the ellipsis ``...``;
3. every run of whitespace (spaces, tabs, newlines, no-break and other Unicode spaces, line and paragraph
   separators) becomes one space, and the ends are stripped;
4. what is left must be *allowed characters*: letters, combining marks (at most :data:`MAX_COMBINING_RUN` in a
   row, so no "zalgo" stacks), digits and other numbers, punctuation, the maths, currency and modifier symbols
   (``+ = < > $ € ^ `` ...``) and the space. Refused: format characters (zero-width spaces and joiners,
   bidirectional overrides, the BOM), private-use and unassigned code points, and "other symbols" (emoji,
   dingbats, box drawing, ``©``, ``°``): nothing a player cannot type;
5. :data:`MIN_LENGTH` to :data:`MAX_LENGTH` characters.

Standard library only: this module is imported on the cold start.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_COMBINING_RUN",
    "MAX_LENGTH",
    "MAX_TOPIC_LENGTH",
    "MIN_LENGTH",
    "collapse_whitespace",
    "is_allowed_char",
    "normalise_content",
    "normalise_topic",
    "prepare",
    "word_count",
]

MIN_LENGTH = 20
"""The fewest characters of a typing text, once normalised."""
MAX_LENGTH = 2000
"""The most characters of a typing text, once normalised."""
MAX_TOPIC_LENGTH = 100
"""The most characters of a generation topic, once normalised."""
MAX_COMBINING_RUN = 2
"""The most combining marks in a row (after NFC, real scripts need one or two)."""

_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark (and the typographic apostrophe)
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2015": "-",  # horizontal bar
        "\u2212": "-",  # minus sign
        "\u2026": "...",  # horizontal ellipsis
    }
)
_WHITESPACE_CONTROLS = frozenset("\t\n\r")
_ALLOWED_SYMBOLS = frozenset({"Sm", "Sc", "Sk"})
_WHITESPACE = re.compile(r"\s+")


def collapse_whitespace(value: str) -> str:
    """Return *value* with every run of whitespace one space, stripped."""
    return _WHITESPACE.sub(" ", value).strip()


def is_allowed_char(char: str) -> bool:
    """Whether *char* may appear in a (normalised) typing text."""
    if char == " ":
        return True
    category = unicodedata.category(char)
    return category[0] in "LMNP" or category in _ALLOWED_SYMBOLS


def _refuse_controls(value: str) -> None:
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise ValueError(f"must not contain lone surrogates (found U+{ord(char):04X})")
        if category == "Cc" and char not in _WHITESPACE_CONTROLS:
            raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")


def prepare(value: str) -> str:
    """NFC-normalise *value*, make its typographic punctuation plain, and collapse its whitespace.

    It raises ``ValueError`` on control characters and lone surrogates; other characters are not checked.
    """
    _refuse_controls(value)
    return collapse_whitespace(unicodedata.normalize("NFC", value).translate(_TYPOGRAPHIC))


def _check_characters(value: str) -> None:
    combining = 0
    for char in value:
        if not is_allowed_char(char):
            raise ValueError(
                f"must contain only letters, digits, punctuation, spaces and the symbols a keyboard types "
                f"(found U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')})"
            )
        combining = combining + 1 if unicodedata.category(char)[0] == "M" else 0
        if combining > MAX_COMBINING_RUN:
            raise ValueError(f"must not stack more than {MAX_COMBINING_RUN} combining marks on a character")


def normalise_content(value: str) -> str:
    """Return *value* as a typing text (see the module's rules); raise ``ValueError`` saying what is wrong."""
    text = prepare(value)
    _check_characters(text)
    if len(text) < MIN_LENGTH:
        raise ValueError(f"must be at least {MIN_LENGTH} characters once whitespace is normalised (got {len(text)})")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"must be at most {MAX_LENGTH} characters once whitespace is normalised (got {len(text)})")
    return text


def normalise_topic(value: str | None) -> str | None:
    """Return a generation topic normalised like a text (1 to 100 characters), or ``None`` for a blank one."""
    if value is None:
        return None
    topic = prepare(value)
    if not topic:
        return None
    _check_characters(topic)
    if len(topic) > MAX_TOPIC_LENGTH:
        raise ValueError(f"must be at most {MAX_TOPIC_LENGTH} characters (got {len(topic)})")
    return topic


def word_count(content: str) -> int:
    """The number of words of a normalised text: what is between its spaces."""
    return len(content.split())
