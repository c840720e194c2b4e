"""Dockerfiles rendered from the manifest, checked statically; image tags."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from stratus.build.dockerfiles import PINS_FILE, base_images, check_dockerfile, render
from stratus.build.images import image_tags, repository_name
from stratus.manifest import parse_stack

RAW = {
    "project": {"name": "acme", "runtime": "python3.13", "arch": "arm64"},
    "services": {
        "worker": {"kind": "lambda", "path": "/worker"},
        "legacy": {"kind": "lambda", "path": "/legacy", "arch": "x86_64", "handler": "legacy.app.handler"},
        "web": {"kind": "apprunner", "path": "/web", "port": 9000,
                "health": {"path": "/ready", "interval": 10, "timeout": 4, "unhealthy": 3}},
        "jobs": {"kind": "ecs-express", "path": "/jobs", "command": ["python", "-m", "jobs.server"]},
    },
}  # fmt: skip


@pytest.fixture
def stack(tmp_path):
    return parse_stack(RAW, root=tmp_path)


def _froms(text: str) -> list[str]:
    return re.findall(r"^FROM (?:--platform=\S+ )?(\S+)", text, re.M) + re.findall(r"--from=(\S+\.\S+)", text)


@pytest.mark.parametrize("service", ["worker", "legacy", "web", "jobs"])
def test_rendered_dockerfiles_pass_the_static_checks(stack, service):
    dockerfile = render(stack, service)
    assert check_dockerfile(dockerfile.text, container=service in ("web", "jobs")) == []
    for image in _froms(dockerfile.text):
        if image == "build":
            continue
        assert "latest" not in image
        assert re.search(r":[^:@]*\d", image), f"{image} is not pinned to a version"
    assert "SECRET" not in dockerfile.text and "AKIA" not in dockerfile.text


def test_the_lambda_image_is_multi_stage_cross_built_for_its_architecture(stack):
    worker = render(stack, "worker")
    assert worker.name == "Dockerfile.lambda"
    assert worker.platform == "linux/arm64"
    text = worker.text
    assert "FROM --platform=$BUILDPLATFORM python:3.13-slim-bookworm AS build" in text
    assert "--python-platform aarch64-manylinux_2_34 --python-version 3.13" in text
    assert "FROM --platform=linux/arm64 public.ecr.aws/lambda/python:3.13\n" in text
    assert "COPY --from=ghcr.io/astral-sh/uv:" in text
    assert text.rstrip().endswith('CMD ["worker.main.handler"]')
    legacy = render(stack, "legacy")
    assert legacy.platform == "linux/amd64"
    assert "x86_64-manylinux_2_34" in legacy.text and 'CMD ["legacy.app.handler"]' in legacy.text


def test_the_container_image_runs_unprivileged_on_port_with_a_healthcheck(stack):
    web = render(stack, "web")
    assert web.name == "Dockerfile.apprunner"
    assert web.platform == "linux/amd64"
    final = web.text.split("\nFROM --platform=linux/amd64 ", 1)[1]
    assert "USER 10001:10001" in final
    assert "EXPOSE 9000" in final and "PORT=9000" in final
    assert "HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3" in final
    assert "/ready" in final
    assert 'CMD ["python", "-m", "web.main"]' in final  # what `stratus dev` runs too
    jobs = render(stack, "jobs")
    assert 'CMD ["python", "-m", "jobs.server"]' in jobs.text
    assert "ECS Express" in jobs.text


def test_digests_from_images_lock_pin_the_base_images(stack, tmp_path):
    digest = "sha256:" + "ab" * 32
    pins = {image: digest for image in base_images(stack)}
    (tmp_path / PINS_FILE).write_text(json.dumps({"images": pins}))
    text = render(stack, "web").text
    assert f"python:3.13-slim-bookworm@{digest}" in text
    assert f"ghcr.io/astral-sh/uv:0.13.9@{digest}" in text
    assert check_dockerfile(text, container=True) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("FROM python", "has no tag"),
        ("FROM python:latest", "moving 'latest' tag"),
        ("FROM python:slim", "tag without a version"),
        ("FROM registry.example.com:5000/team/app", "has no tag"),
        ("COPY --from=ghcr.io/astral-sh/uv /uv /uv", "has no tag"),
        ("ENV DB_PASSWORD=hunter2", "DB_PASSWORD sets a secret"),
        ("ARG API_TOKEN=abc", "API_TOKEN sets a secret"),
        ("RUN echo AKIAABCDEFGHIJKLMNOP > /x", "looks like a credential"),
        ("ADD https://example.com/tool.tgz /tool.tgz", "ADD of a URL"),
    ],
)
def test_the_static_check_catches_unpinned_images_and_secrets(line, problem):
    text = f"FROM python:3.13-slim-bookworm AS build\n{line}\n"
    problems = check_dockerfile(text, container=False)
    assert any(problem in p for p in problems), problems


def test_a_container_running_as_root_without_healthcheck_or_port_is_flagged():
    text = 'FROM python:3.13-slim\nUSER app\nFROM python:3.13-slim\nCMD ["python"]\n'
    problems = check_dockerfile(text, container=True)
    assert any("runs as root" in p for p in problems)  # the final stage has no USER: root again
    assert any("HEALTHCHECK" in p for p in problems)
    assert any("PORT" in p for p in problems)
    assert check_dockerfile("FROM python:3.13-slim\nUSER 0:0\n", container=True)[0].startswith("the container runs")


def test_image_tags_follow_the_seeds(stack):
    now = dt.datetime(2026, 11, 23, 14, 5, 9, tzinfo=dt.UTC)
    assert image_tags("web", "dev", sha="abc1234", now=now) == ["web-dev-latest", "web-dev-20261123-140509-abc1234"]
    assert image_tags("web", "prod", sha="abc1234", now=now, tag="v1.0.0")[-1] == "web-prod-v1.0.0"
    assert repository_name(stack, "web") == "acme-dev-web"
