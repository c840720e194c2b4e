"""`stratus infra` and `stratus infra check --no-checkov` in a project directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stratus.cli import app
from stratus.errors import StratusError
from tests.infra.helpers import REFERENCE

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REFERENCE / "stratus.toml", tmp_path / "stratus.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_infra_writes_the_terraform_once_then_leaves_it_alone(project: Path) -> None:
    first = runner.invoke(app, ["infra"])
    assert first.exit_code == 0, first.output
    target = project / "infra" / "terraform"
    assert (target / "lambda-worker.tf").is_file() and (target / "modules" / "http-api" / "main.tf").is_file()
    assert (target / "environments" / "prod.tfvars").is_file()
    second = runner.invoke(app, ["infra"])
    assert second.exit_code == 0 and "0 written" in second.output, second.output


def test_removing_a_service_removes_its_file_but_not_the_users(project: Path) -> None:
    assert runner.invoke(app, ["infra"]).exit_code == 0
    target = project / "infra" / "terraform"
    (target / "alerts.tf").write_text('resource "aws_sns_topic" "alerts" {\n  name = "${local.prefix}-alerts"\n}\n')
    manifest = project / "stratus.toml"
    text = manifest.read_text()
    text = text.replace("services.web.scaling = { min = 2, max = 10, concurrency = 80 }\n", "")
    start = text.index("[services.web]")
    manifest.write_text(text[:start] + text[text.index("[services.admin]") :])
    result = runner.invoke(app, ["infra"])
    assert result.exit_code == 0, result.output
    assert not (target / "apprunner-web.tf").exists()
    assert (target / "alerts.tf").is_file()
    checked = runner.invoke(app, ["infra", "check", "--no-checkov"])
    assert checked.exit_code == 0, checked.output


def test_a_user_file_referring_to_nothing_fails_the_check(project: Path) -> None:
    assert runner.invoke(app, ["infra"]).exit_code == 0
    target = project / "infra" / "terraform"
    (target / "alerts.tf").write_text('resource "aws_sns_topic" "alerts" {\n  name = var.alerts_name\n}\n')
    result = runner.invoke(app, ["infra", "check", "--no-checkov"])
    assert isinstance(result.exception, StratusError)
    assert "1 unresolved reference" in result.exception.message


def test_check_without_generated_terraform_says_how_to_generate_it(project: Path) -> None:
    result = runner.invoke(app, ["infra", "check"])
    assert isinstance(result.exception, StratusError) and result.exception.hint == "generate it with `stratus infra`"
