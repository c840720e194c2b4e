"""No secret value in a file Stratus writes: the rendered Terraform is scanned, and what would put one there is
refused before anything renders."""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stratus.infra.render import render
from stratus.manifest import ManifestError, parse_stack

REPOSITORY = Path(__file__).parents[2]
STACKS = [REPOSITORY, REPOSITORY / "tests" / "infra" / "reference"]

# Shapes of secrets (as secret scanners look for them), and long random-looking words.
PATTERNS = {
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password or secret assigned a literal": re.compile(
        r"(?i)\b\w*(password|secret|token|api_key)\w*\s*=\s*\"[^\"$]{8,}\""
    ),
}
WORD = re.compile(r"[A-Za-z0-9+/=_-]{32,}")


def entropy(word: str) -> float:
    counts = Counter(word)
    return -sum(n / len(word) * math.log2(n / len(word)) for n in counts.values())


def findings(files: dict[str, str]) -> list[str]:
    out = []
    for path, text in files.items():
        for what, pattern in PATTERNS.items():
            out += [f"{path}: {what}: {m.group(0)[:40]}" for m in pattern.finditer(text)]
        for word in WORD.findall(text):
            # a random value: long, high entropy, with letters and digits (not a name, path or module output)
            if entropy(word) > 4.0 and re.search(r"\d", word) and re.search(r"[A-Z]", word) and "-" not in word:
                out.append(f"{path}: a random-looking value: {word[:12]}...")
    return out


def rendered(root: Path, raw: dict[str, Any] | None = None) -> dict[str, str]:
    raw = raw or tomllib.loads((root / "stratus.toml").read_text())
    base = parse_stack(raw, root=root)
    return render({env: parse_stack(raw, root=root, env=env) for env in base.environment_names})


@pytest.mark.parametrize("root", STACKS, ids=["repository", "infra-reference"])
def test_the_rendered_terraform_holds_no_secret(root: Path) -> None:
    assert findings(rendered(root)) == []


def test_the_scan_finds_a_secret_that_got_in() -> None:
    # GIVEN the reference stack with a random key smuggled in under an innocent name
    raw = tomllib.loads((STACKS[1] / "stratus.toml").read_text())
    raw["services"]["gateway"]["env"]["SIGNING"] = "q8Xv2LpK9zT4mW7bR1nY6cJ3hF5dG0sA"
    # THEN the scan reports it
    assert any("random-looking value" in f and "lambda-gateway.tf" in f for f in findings(rendered(STACKS[1], raw)))


@pytest.mark.parametrize("key", ["TOKEN_SIGNING_SECRET", "DB_PASSWORD", "STRIPE_API_KEY", "GITHUB_TOKEN"])
def test_a_secret_in_env_is_refused_with_the_way_to_declare_it(tmp_path: Path, key: str) -> None:
    raw = {"project": {"name": "acme"}, "services": {"api": {"kind": "lambda", "path": "/", "env": {key: "x" * 40}}}}
    with pytest.raises(ManifestError) as caught:
        parse_stack(raw, root=tmp_path)
    [problem] = [p.render() for p in caught.value.problems]
    assert problem.startswith(f"stratus.toml: services.api.env.{key}: looks like a secret")
    assert "declare [secrets.<name>]" in problem and "x" * 40 not in problem


@pytest.mark.parametrize("key", ["TOKEN_SIGNING_SECRET_ARN", "TOKEN_ISSUER", "SESSION_TTL", "LOG_LEVEL"])
def test_a_variable_that_points_at_a_secret_is_fine(tmp_path: Path, key: str) -> None:
    raw = {"project": {"name": "acme"}, "services": {"api": {"kind": "lambda", "path": "/", "env": {key: "v"}}}}
    parse_stack(raw, root=tmp_path)
