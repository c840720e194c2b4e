"""Edits of ``stratus.toml`` and the root ``pyproject.toml`` that keep every comment and the layout (tomlkit).

Each function takes the file's text and returns the new text; nothing here reads or writes files, so the
caller can validate the result (``parse_stack``) before anything is written. New tables go after the last
table of their kind; an inline table that grows (``uses``) keeps its trailing comment.
"""

from __future__ import annotations

import json
from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Table

__all__ = ["add_resource", "add_service", "add_workspace_member", "grant"]


def _value(value: Any) -> str:
    """A TOML value as text: strings, booleans, numbers, and flat lists/dicts of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return _inline(value)
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(key: str) -> str:
    return key if all(c.isalnum() or c in "-_" for c in key) and key else json.dumps(key)


def _inline(entries: dict[str, Any]) -> str:
    if not entries:
        return "{}"
    return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in entries.items()) + " }"


def _table(header: str, fields: dict[str, Any]) -> Table:
    """A ``[header]`` table parsed from text, so it is laid out like hand-written ones (spaces, a blank line after)."""
    body = "".join(f"{_key(k)} = {_value(v)}\n" for k, v in fields.items())
    parts = header.split(".")
    node: Any = tomlkit.parse(f"[{header}]\n{body}\n")
    for part in parts:
        node = node[part]
    assert isinstance(node, Table)
    return node


def _super_table(doc: tomlkit.TOMLDocument, name: str) -> Table:
    existing = doc.get(name)
    if existing is None:
        table = tomlkit.table(is_super_table=True)
        doc.add(name, table)
        return table
    if not isinstance(existing, Table):
        raise ValueError(f"{name} is not a table")
    return existing


def add_service(text: str, name: str, fields: dict[str, Any]) -> str:
    """``stratus.toml`` with ``[services.NAME]`` (``fields`` in order) after the last service."""
    doc = tomlkit.parse(text)
    services = _super_table(doc, "services")
    if name in services:
        raise ValueError(f"services.{name} already exists")
    services[name] = _table(f"services.{_key(name)}", fields)
    return _ensure_final_newline(tomlkit.dumps(doc), text)


def add_resource(text: str, table: str, name: str, fields: dict[str, Any]) -> str:
    """``stratus.toml`` with ``[TABLE.NAME]`` (``table``: queues, tables, buckets or databases)."""
    doc = tomlkit.parse(text)
    resources = _super_table(doc, table)
    if name in resources:
        raise ValueError(f"{table}.{name} already exists")
    resources[name] = _table(f"{table}.{_key(name)}", fields)
    return _ensure_final_newline(tomlkit.dumps(doc), text)


def ensure_table(text: str, table: str, fields: dict[str, Any]) -> str:
    """``stratus.toml`` with ``[TABLE]`` holding ``fields``, unless it already has one (then unchanged)."""
    doc = tomlkit.parse(text)
    if table in doc:
        return text
    doc.add(table, _table(table, fields))
    return _ensure_final_newline(tomlkit.dumps(doc), text)


def grant(text: str, service: str, resource: str, access: str) -> str:
    """``stratus.toml`` with ``resource = "access"`` in ``services.SERVICE.uses`` (created if missing)."""
    doc = tomlkit.parse(text)
    svc = doc["services"][service]
    assert isinstance(svc, Table)
    current = svc.get("uses")
    if current is None:
        svc.add("uses", _inline_item({resource: access}))
    elif isinstance(current, InlineTable):
        entries = {str(k): v for k, v in current.unwrap().items()}
        entries[resource] = access
        item = _inline_item(entries)
        item.trivia.comment_ws = current.trivia.comment_ws
        item.trivia.comment = current.trivia.comment
        item.trivia.trail = current.trivia.trail
        svc["uses"] = item
    elif isinstance(current, Table):  # [services.NAME.uses] as its own table
        current.add(resource, access)
    else:
        raise ValueError(f"services.{service}.uses is not a table")
    return _ensure_final_newline(tomlkit.dumps(doc), text)


def _inline_item(entries: dict[str, Any]) -> InlineTable:
    item = tomlkit.parse(f"x = {_inline(entries)}\n")["x"]
    assert isinstance(item, InlineTable)
    return item


def add_workspace_member(text: str, name: str, *, group: str = "services") -> str:
    """The root ``pyproject.toml`` with ``name`` in the ``group`` dependency group and ``[tool.uv.sources]``."""
    doc = tomlkit.parse(text)
    groups = doc.setdefault("dependency-groups", tomlkit.table())
    members = groups.setdefault(group, tomlkit.array())
    if name not in [str(m) for m in members]:
        members.append(name)
    tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
    uv = tool.setdefault("uv", tomlkit.table())
    sources = uv.setdefault("sources", tomlkit.table())
    if name not in sources:
        sources[name] = _inline_item({"workspace": True})
    return _ensure_final_newline(tomlkit.dumps(doc), text)


def _ensure_final_newline(text: str, original: str = "") -> str:
    """One final newline, as the original had (a table appended at the end brings its own blank line)."""
    if original.endswith("\n\n"):
        return text if text.endswith("\n") else text + "\n"
    return text.rstrip("\n") + "\n"
