"""stratus infra check: one HCL parser, every reference resolved, checkov clean (run once here: ~5 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stratus.errors import PrerequisiteError
from stratus.infra.check import (
    _read_report,
    check_references,
    find_checkov,
    references,
    run_checkov,
)
from stratus.infra.writer import write
from tests.infra.helpers import reference_files


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("terraform")
    write(out, reference_files())
    return out


# --------------------------------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${var.x}", [("var", "x")]),
        ("${local.prefix}-worker", [("local", "prefix")]),
        ('${module.lambda_worker.invoke_arns["http"]}', [("module", "lambda_worker", "invoke_arns")]),
        ("${module.dynamodb_job-records.table_arn}", [("module", "dynamodb_job-records", "table_arn")]),
        ("${aws_lambda_function.this[each.key].arn}", [("aws_lambda_function", "this"), ("each", "key")]),
        ("${data.aws_vpc.this.id}", [("data", "aws_vpc", "this", "id")]),
        ("${try(aws_x.this[0].id, null)}", [("aws_x", "this")]),
        ("plain text with aws_fake.thing in it", []),
        ("$${var.escaped}", []),
        ("${jsonencode({'K': 'aws_fake.thing', 'R': ['${aws_q.real.arn}/*']})}", [("aws_q", "real", "arn")]),
        ("${{for k, v in var.m : k => v.x}}", [("var", "m")]),
        ("${[for group in aws_cloudwatch_log_group.this : '${group.arn}:*']}", [("aws_cloudwatch_log_group", "this")]),
        ("${upper(var.name)}", [("var", "name")]),
    ],
)
def test_references_are_read_from_interpolations_only(text: str, expected: list[tuple[str, ...]]) -> None:
    assert references(text) == expected


def test_dynamic_block_iterators_are_not_references() -> None:
    assert references("${attribute.value}", frozenset({"attribute"})) == []


def test_the_generated_terraform_has_no_unresolved_reference(reference_dir: Path) -> None:
    assert check_references(reference_dir) == []


def test_unresolved_references_and_module_inputs_are_found(tmp_path: Path) -> None:
    write(tmp_path, reference_files())
    (tmp_path / "broken.tf").write_text(
        'resource "aws_sns_topic" "alerts" {\n'
        "  name = var.missing\n"
        "  tags = { a = local.missing, b = module.sqs_jobs.no_such_output, c = aws_iam_role.gone.arn }\n"
        "}\n"
        'module "extra" {\n  source = "./modules/sqs-queue"\n  not_an_input = 1\n}\n'
        'module "elsewhere" {\n  source = "terraform-aws-modules/sqs/aws"\n}\n'
    )
    (tmp_path / "environments" / "dev.tfvars").write_text('project_name = "x"\nnot_a_variable = 1\n')
    messages = [f.render() for f in check_references(tmp_path)]
    assert messages == [
        "broken.tf:1: aws_iam_role.gone is not a declared resource",
        "broken.tf:1: local.missing is not a declared local",
        'broken.tf:1: module.sqs_jobs.no_such_output: ./modules/sqs-queue has no output "no_such_output"',
        "broken.tf:1: var.missing is not a declared variable",
        'broken.tf:5: module "extra": ./modules/sqs-queue has no variable "not_an_input"',
        'broken.tf:5: module "extra": required variable "dlq_name" of ./modules/sqs-queue is not set',
        'broken.tf:5: module "extra": required variable "name" of ./modules/sqs-queue is not set',
        "broken.tf:9: module \"elsewhere\": source 'terraform-aws-modules/sqs/aws' is not a local directory",
        "environments/dev.tfvars: not_a_variable is not a variable of the root module",
    ]


def test_a_file_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text('resource "a" "b" {\n  x = \n')
    findings = check_references(tmp_path)
    assert len(findings) == 1 and findings[0].file == "bad.tf" and "does not parse" in findings[0].message


# --------------------------------------------------------------------------------------------------- checkov


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(reference_dir: Path) -> None:
    result = run_checkov(reference_dir)
    assert result.failed == [] and result.parsing_errors == []
    assert result.passed > 300 and result.resources > 50
    assert result.skipped, "the modules skip some checks inline, with reasons"
    for skip in result.skipped:
        assert len(skip.reason) > 30, skip  # a reason a reviewer can read, not an empty skip
    skipped = {s.check_id for s in result.skipped}
    # checks the generated Terraform satisfies instead of skipping
    for satisfied in ("CKV_AWS_50", "CKV_AWS_116", "CKV_AWS_27", "CKV_AWS_28", "CKV_AWS_76", "CKV_AWS_163"):
        assert satisfied not in skipped


def test_checkov_reports_are_read_whatever_their_shape() -> None:
    item = {
        "check_id": "CKV_AWS_1",
        "check_name": "a check",
        "resource": "module.x.aws_y.this",
        "file_path": "/modules/x/main.tf",
        "file_line_range": [3, 9],
        "check_result": {"result": "SKIPPED", "suppress_comment": "because"},
    }
    summary = {"passed": 2, "failed": 1, "skipped": 1, "resource_count": 4, "checkov_version": "3"}
    results = {"skipped_checks": [item], "failed_checks": [item]}
    report = {"check_type": "terraform", "results": results, "summary": summary}
    for shape in (report, [report]):
        result = _read_report(shape)
        assert result.passed == 2 and result.resources == 4 and not result.ok
        assert result.skipped[0].reason == "because" and result.skipped[0].file == "modules/x/main.tf"
        assert result.failed[0].line == 3
    empty = _read_report({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0})
    assert empty.ok and empty.failed == []


def test_a_missing_checkov_is_a_prerequisite_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteError, match="checkov is not installed"):
        find_checkov()
