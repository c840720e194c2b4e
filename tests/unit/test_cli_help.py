"""`stratus --help`: the commands in the groups a user scans, and option texts shown as written."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from stratus.cli import app

runner = CliRunner()


def help_of(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_are_listed_in_groups_in_the_order_work_is_done() -> None:
    text = help_of()
    panels = {name: text.index(f"─ {name} ─") for name in ("Project", "Local cloud", "AWS")}
    assert panels["Project"] < panels["Local cloud"] < panels["AWS"]
    commands = re.findall(r"^│ (\w+) ", text, re.M)
    assert commands == ["init", "new", "add", "validate", "test", "dev", "invoke", "trigger", "events", "logs",
                        "apikey", "client", "invite", "infra", "build", "image", "deploy", "migrate"]  # fmt: skip
    for command in ("dev", "invoke", "apikey"):
        assert panels["Local cloud"] < text.index(f"│ {command} ") < panels["AWS"]


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["build"], "arm64 or x86_64 [default: the manifest's]."),
        (["build"], "(stratus.toml [environments.*])"),
        (["dev"], "Port of the Lambda Invoke API [default: port + 1]."),
    ],
)
def test_bracketed_help_text_is_shown_as_written(command: list[str], shown: str) -> None:
    text = " ".join(help_of(*command).split())
    assert shown in text
    assert not re.search(r"\w \.(\s|$)", text), "a space before a full stop: markup was stripped"
