"""stratus.infra.hcl: Python data -> HCL that parses back to the same data; terraform fmt alignment."""

from __future__ import annotations

import hcl2
import pytest

from stratus.infra.check import references
from stratus.infra.hcl import Expr, fmt, key, quote, value


def parsed(expression: str) -> object:
    out = hcl2.loads(f"x = {expression}\n")["x"][0]
    # bc-python-hcl2 keeps escape sequences as written; HCL reads \\, \" and \n as Python does.
    return out.encode().decode("unicode_escape") if isinstance(out, str) else out


@pytest.mark.parametrize(
    "data",
    [
        "plain",
        'quo"te',
        "back\\slash",
        "new\nline",
        42,
        2.5,
        True,
        ["a", "b"],
        {"A_B": "1", "c": ["x", "y"]},
        {"nested": {"deep": [1, 2, 3]}, "route key": "ANY /p/{proxy+}"},
    ],
)
def test_values_parse_back_to_the_same_data(data: object) -> None:
    assert parsed(value(data)) == data


def test_a_string_from_the_manifest_never_becomes_an_interpolation() -> None:
    # GIVEN strings that look like Terraform templates
    hostile = ["${var.secret}", "%{ if true }x%{ endif }", "a${module.x.y}b"]
    for text in hostile:
        rendered = quote(text)
        # THEN the quoted form refers to nothing, and carries the escapes HCL reads back as the literal text
        assert references(rendered) == [], rendered
        assert "$${" in rendered or "%%{" in rendered


def test_expressions_are_written_verbatim_and_objects_keep_their_order() -> None:
    text = value({"b": Expr("var.b"), "a": Expr("module.m.out")})
    assert text == "{\n  b = var.b\n  a = module.m.out\n}"


def test_keys_are_bare_identifiers_or_quoted() -> None:
    assert key("memory_size") == "memory_size"
    assert key("consumer-jobs") == '"consumer-jobs"'
    assert key("ANY /worker") == '"ANY /worker"'
    assert key("null") == '"null"'


def test_fmt_aligns_runs_of_one_line_attributes_like_terraform_fmt() -> None:
    # GIVEN attributes broken by a multi-line value, a blank line and a nested block
    text = "\n".join(
        [
            'resource "a" "b" {',
            "  name = 1",
            "  description = 2",
            "  tags = {",
            "    Project = 3",
            "    Environment = 4",
            "  }",
            "  after = 5",
            "  afterwards = 6",
            "",
            "  x = 7",
            "  nested {",
            "    yy = 8",
            "  }",
            "}",
        ]
    )
    # THEN each run is aligned on its own, and the line opening a multi-line value is not aligned
    assert fmt(text).splitlines() == [
        'resource "a" "b" {',
        "  name        = 1",
        "  description = 2",
        "  tags = {",
        "    Project     = 3",
        "    Environment = 4",
        "  }",
        "  after      = 5",
        "  afterwards = 6",
        "",
        "  x = 7",
        "  nested {",
        "    yy = 8",
        "  }",
        "}",
    ]


def test_fmt_reads_brackets_inside_interpolations_as_part_of_the_string() -> None:
    text = '  a = "${lookup(var.m, "k", "}")}"\n  bb = 1\n'
    assert fmt(text) == '  a  = "${lookup(var.m, "k", "}")}"\n  bb = 1\n'
