"""HCL values from Python data, and the alignment ``terraform fmt`` applies.

:func:`value` turns ``None``, booleans, numbers, strings, lists and dicts into HCL, with :class:`Expr` for a
Terraform expression written as is (``var.environment``, ``module.sqs_jobs.queue_arn``). Strings are quoted
and escaped, ``${`` included, so a value from stratus.toml can never become an interpolation. Dicts keep
their order: callers sort what has no natural order, so the output is the same bytes on every run.

:func:`fmt` aligns the ``=`` of consecutive one-line attributes as ``terraform fmt`` does (hclwrite: a line
that opens a multi-line value, a blank line, a comment or a block breaks the run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["Expr", "fmt", "key", "quote", "value"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = frozenset({"true", "false", "null", "for", "in", "if"})
_ONE_LINE = 100


class Expr(str):
    """A Terraform expression, rendered verbatim."""

    __slots__ = ()


def quote(text: str) -> str:
    """A quoted HCL string holding exactly ``text`` (no interpolation, no directive)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t").replace("${", "$${").replace("%{", "%%{")
    return f'"{out}"'


def key(name: str) -> str:
    """An object key: bare when it is a plain identifier, else quoted."""
    return name if _IDENT.fullmatch(name) and name not in _RESERVED else quote(name)


def value(data: object, indent: int = 0) -> str:
    """``data`` as an HCL expression; lines after the first are indented by ``indent`` spaces."""
    if isinstance(data, Expr):
        return str(data)
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, int):
        return str(data)
    if isinstance(data, float):
        return str(int(data)) if data.is_integer() else repr(data)
    if isinstance(data, str):
        return quote(data)
    if isinstance(data, Mapping):
        return _object(data, indent)
    if isinstance(data, Sequence):
        return _list(list(data), indent)
    raise TypeError(f"no HCL form for {type(data).__name__}")


def _list(items: list[object], indent: int) -> str:
    if not items:
        return "[]"
    scalars = [value(item) for item in items if not isinstance(item, Mapping | list | tuple)]
    if len(scalars) == len(items):
        one_line = f"[{', '.join(scalars)}]"
        if len(one_line) + indent <= _ONE_LINE:
            return one_line
    pad = " " * (indent + 2)
    lines = [f"{pad}{value(item, indent + 2)}," for item in items]
    return "[\n" + "\n".join(lines) + "\n" + " " * indent + "]"


def _object(data: Mapping[object, object], indent: int) -> str:
    if not data:
        return "{}"
    pad = " " * (indent + 2)
    lines = [f"{pad}{key(str(k))} = {value(v, indent + 2)}" for k, v in data.items()]
    return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"


# --------------------------------------------------------------------------------------------------- fmt

_ATTRIBUTE = re.compile(r'^(?P<indent>\s*)(?P<key>"(?:[^"\\]|\\.)*"|[A-Za-z_][\w-]*)\s*=(?![=>])\s*(?P<rest>.*)$')


def fmt(text: str) -> str:
    """Align the ``=`` of runs of one-line attributes; strip trailing spaces; end with one newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    run: list[tuple[str, str, str]] = []

    def flush() -> None:
        width = max((len(k) for _, k, _ in run), default=0)
        out.extend(f"{ind}{k.ljust(width)} = {rest}" for ind, k, rest in run)
        run.clear()

    for line in lines:
        match = _ATTRIBUTE.match(line)
        if match and not line.lstrip().startswith("#") and _balanced(match["rest"]):
            if run and run[-1][0] != match["indent"]:
                flush()
            run.append((match["indent"], match["key"], match["rest"]))
            continue
        flush()
        out.append(line)
    flush()
    while out and not out[-1]:
        out.pop()
    collapsed: list[str] = []
    for line in out:  # at most one blank line in a row
        if line or (collapsed and collapsed[-1]):
            collapsed.append(line)
    return "\n".join(collapsed) + "\n"


def _balanced(expression: str) -> bool:
    """Whether ``expression`` closes every bracket it opens (a one-line value), ignoring strings."""
    if "<<" in expression:
        return False
    # A stack of open brackets; '"' is an open string, "$" an open interpolation inside one.
    stack: list[str] = []
    i = 0
    while i < len(expression):
        char = expression[i]
        if stack and stack[-1] == '"':
            if char == "\\":
                i += 1
            elif char == '"':
                stack.pop()
            elif expression.startswith("${", i):
                stack.append("$")
                i += 1
        elif char == '"':
            stack.append('"')
        elif char == "#" and not stack:
            break
        elif char in "([{":
            stack.append(char)
        elif char in ")]}":
            if not stack:
                return False
            stack.pop()
        i += 1
    return not stack
