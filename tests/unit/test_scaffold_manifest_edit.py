"""tomlkit edits of stratus.toml and pyproject.toml: only the new lines appear; every other byte stays."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

import pytest

from stratus.manifest import parse_stack
from stratus.scaffold import manifest_edit

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """\
# The stack.   (a comment, with odd   spacing)

[project]
name = "acme"   # trailing comment

[services.worker]             # the worker
kind = "lambda"
path = "/worker"
uses = { jobs = "send" }      # what it uses

[services.web]
kind = "apprunner"
path = "/web"
# a comment between tables

[queues.jobs]
visibility_timeout = 180      # 6x
"""


def _added_lines(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`; fails if any line of `before` changed or disappeared."""
    diff = list(difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)))
    removed = [line for line in diff if line.startswith("- ")]
    assert removed == [], f"lines changed or removed: {removed}"
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_a_service_is_appended_after_the_last_service_and_nothing_else_changes() -> None:
    after = manifest_edit.add_service(MANIFEST, "orders", {"kind": "lambda", "path": "/orders", "memory": 512})
    assert _added_lines(MANIFEST, after) == [
        "[services.orders]\n",
        'kind = "lambda"\n',
        'path = "/orders"\n',
        "memory = 512\n",
        "\n",
    ]
    # after the web service, before the queues
    assert after.index("[services.orders]") > after.index("[services.web]")
    assert after.index("[services.orders]") < after.index("[queues.jobs]")
    assert tomllib.loads(after)["services"]["orders"] == {"kind": "lambda", "path": "/orders", "memory": 512}


def test_a_resource_table_is_added_even_when_its_kind_has_none_yet() -> None:
    after = manifest_edit.add_resource(MANIFEST, "buckets", "files", {"versioning": True})
    assert _added_lines(MANIFEST, after)[-2:] == ["[buckets.files]\n", "versioning = true\n"]
    assert MANIFEST in after  # appended: every byte before is the same
    after = manifest_edit.add_resource(after, "queues", "events", {"visibility_timeout": 180})
    queues = tomllib.loads(after)["queues"]
    assert queues == {"jobs": {"visibility_timeout": 180}, "events": {"visibility_timeout": 180}}


def test_a_grant_grows_the_inline_uses_and_keeps_its_comment() -> None:
    after = manifest_edit.grant(MANIFEST, "worker", "records", "read-write")
    changed = [line for line in difflib.ndiff(MANIFEST.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changed == [
        '- uses = { jobs = "send" }      # what it uses',
        '+ uses = { jobs = "send", records = "read-write" }      # what it uses',
    ]


def test_a_grant_to_a_service_without_uses_adds_the_key() -> None:
    after = manifest_edit.grant(MANIFEST, "web", "files", "read")
    assert tomllib.loads(after)["services"]["web"]["uses"] == {"files": "read"}
    assert 'uses = { files = "read" }\n' in _added_lines(MANIFEST, after)


def test_existing_entries_are_never_replaced() -> None:
    with pytest.raises(ValueError, match="already exists"):
        manifest_edit.add_service(MANIFEST, "worker", {"kind": "lambda", "path": "/x"})
    with pytest.raises(ValueError, match="already exists"):
        manifest_edit.add_resource(MANIFEST, "queues", "jobs", {})


def test_the_repository_manifest_keeps_every_comment_byte_for_byte() -> None:
    before = (REPO / "stratus.toml").read_text()
    after = manifest_edit.add_service(before, "orders", {"kind": "lambda", "path": "/orders"})
    after = manifest_edit.add_resource(after, "tables", "orders-data", {"hash_key": "id"})
    after = manifest_edit.grant(after, "orders", "orders-data", "read-write")
    after = manifest_edit.grant(after, "worker", "orders-data", "read")
    added = _added_lines_allowing(before, after, changed_prefix="uses = { jobs")
    assert "[services.orders]\n" in added and "[tables.orders-data]\n" in added
    for line in before.splitlines():
        if "#" in line and not line.startswith("uses = { jobs"):
            assert line in after.splitlines()
    stack = parse_stack(tomllib.loads(after), root=REPO)
    assert stack.services["worker"].uses["orders-data"] == "read"
    assert stack.services["orders"].uses == {"orders-data": "read-write"}


def _added_lines_allowing(before: str, after: str, *, changed_prefix: str) -> list[str]:
    diff = list(difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)))
    removed = [line for line in diff if line.startswith("- ") and not line[2:].startswith(changed_prefix)]
    assert removed == []
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_the_root_pyproject_gets_the_member_in_the_group_and_the_sources() -> None:
    before = (REPO / "pyproject.toml").read_text()
    after = manifest_edit.add_workspace_member(before, "orders")
    assert _added_lines(before, after) == ["orders = { workspace = true }\n", '    "orders",\n']
    data = tomllib.loads(after)
    assert data["dependency-groups"]["services"][-1] == "orders"
    assert data["tool"]["uv"]["sources"]["orders"] == {"workspace": True}
    assert manifest_edit.add_workspace_member(after, "orders") == after  # idempotent
