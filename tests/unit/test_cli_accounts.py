"""`stratus client create|list|revoke` and `stratus invite create|list`, against the accounts table in (moto's) AWS
with --aws, and the one-line errors when there is nothing to talk to."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from stratus_common import clients, invites
from typer.testing import CliRunner

from stratus.cli import app
from stratus.errors import StratusError
from stratus.manifest import load_stack

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO / "stratus.toml", tmp_path / "stratus.toml")
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return tmp_path


@pytest.fixture
def aws(project: Path) -> Iterator[tuple[Any, str]]:
    """moto's AWS with the stack's accounts table (named as Terraform names it)."""
    table = load_stack(project).plan.tables["accounts"].aws_name
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb, table


def test_client_create_prints_the_secret_once_and_it_verifies(aws: tuple[Any, str]) -> None:
    dynamodb, table = aws
    result = runner.invoke(app, ["client", "create", "reporting", "--scope", "api", "--scope", "reports:read", "--aws"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("scs_")
    found = clients.verify_client(dynamodb, table, "reporting", secret)
    assert found is not None and found.scopes == ("api", "reports:read")
    assert secret not in json.dumps(dynamodb.scan(TableName=table)["Items"])
    # list: never the secret
    listed = runner.invoke(app, ["client", "list", "--aws"])
    assert listed.exit_code == 0
    assert json.loads(listed.stdout)[0]["client_id"] == "reporting"
    assert secret not in listed.output
    # revoke: the secret stops working
    revoked = runner.invoke(app, ["client", "revoke", "reporting", "--aws"])
    assert revoked.exit_code == 0, revoked.output
    assert clients.verify_client(dynamodb, table, "reporting", secret) is None


def test_client_errors_are_one_line_with_a_hint(aws: tuple[Any, str]) -> None:
    assert runner.invoke(app, ["client", "create", "svc", "--aws"]).exit_code == 0
    for args, message in [
        (["client", "create", "svc", "--aws"], "exists already"),
        (["client", "create", "x", "--aws"], "cannot create client"),
        (["client", "revoke", "nobody", "--aws"], "no client 'nobody'"),
    ]:
        result = runner.invoke(app, args)
        assert isinstance(result.exception, StratusError), result.output
        assert message in result.exception.message and "\n" not in result.exception.message
        assert result.exception.hint


def test_invite_create_prints_a_code_that_registers(aws: tuple[Any, str]) -> None:
    dynamodb, table = aws
    result = runner.invoke(app, ["invite", "create", "--scope", "records:write", "--expires-in-days", "2", "--aws"])
    assert result.exit_code == 0, result.output
    code = result.stdout.strip()
    invite = invites.find_invite(dynamodb, table, code)
    assert invite is not None and invite.scopes == ("records:write",)
    assert invite.expires_at - invite.created_at == 2 * 86400
    listed = runner.invoke(app, ["invite", "list", "--aws"])
    assert json.loads(listed.stdout)[0]["status"] == "active" and code not in listed.output
    refused = runner.invoke(app, ["invite", "create", "--expires-in-days", "0", "--aws"])
    assert isinstance(refused.exception, StratusError)


def test_without_an_accounts_table_the_error_says_what_to_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stratus.toml").write_text('[project]\nname = "tiny"\nregion = "us-east-1"\n\n'
                                           '[services.api]\nkind = "lambda"\npath = "/"\n')  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["client", "list", "--aws"])
    assert isinstance(result.exception, StratusError)
    assert "accounts table" in result.exception.message
    assert "[tables.accounts]" in (result.exception.hint or "")


def test_without_a_running_stack_the_command_prints_one_line_and_a_hint(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "client", "list"], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error ") and lines[-1].startswith("hint: ")
    assert "Traceback" not in done.stderr
