"""`stratus new` and `stratus add` in process, on a copy of this repository's manifest, pyproject and Terraform."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from stratus.manifest import ManifestError, load_stack
from stratus.scaffold.names import ScaffoldError
from stratus.scaffold.resource import add_resource
from stratus.scaffold.service import new_service

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("stratus.toml", "pyproject.toml", "uv.lock"):  # the lock: the Powertools layer's version
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "infra" / "terraform", tmp_path / "infra" / "terraform",
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"))  # fmt: skip
    (tmp_path / "services").mkdir()
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_new_lambda_creates_the_service_and_declares_it_everywhere(project: Path) -> None:
    before = (project / "stratus.toml").read_text()
    # WHEN a Lambda service is created
    done = new_service(project, "lambda", "order-book", auth="api_key")
    # THEN its package, tests and Dockerfile are there, with test files named after the package
    service = project / "services" / "order-book"
    for rel in ("pyproject.toml", "order_book/__init__.py", "order_book/main.py", "tests/unit/conftest.py",
                "tests/unit/test_order_book_app.py", "tests/unit/test_order_book_lambda.py",
                "tests/integration/test_order_book_integration.py", "Dockerfile.lambda"):  # fmt: skip
        assert (service / rel).is_file(), rel
    assert 'CMD ["order_book.main.handler"]' in (service / "Dockerfile.lambda").read_text()
    assert "make_handler(app)" in (service / "order_book" / "main.py").read_text()
    assert tomllib.loads((service / "pyproject.toml").read_text())["project"]["name"] == "order-book"
    # AND the manifest has it, after the last service: no line before is changed or removed
    after = (project / "stratus.toml").read_text()
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert [line for line in diff if line.startswith("- ")] == []
    assert [line[2:] for line in diff if line.startswith("+ ")][:2] == ["[services.order-book]", 'kind = "lambda"']
    stack = load_stack(project)
    svc = stack.services["order-book"]
    assert (svc.kind, svc.path, svc.auth) == ("lambda", "/order-book", "api_key")
    # AND the workspace has it
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert "order-book" in pyproject["dependency-groups"]["services"]
    assert pyproject["tool"]["uv"]["sources"]["order-book"] == {"workspace": True}
    # AND the Terraform has it
    assert done.infra
    assert any("order-book" in rel or "order_book" in rel for rel in done.infra_written)
    assert "order-book" in (project / "infra" / "terraform" / "api-gateway.tf").read_text() or any(
        "order-book" in p.read_text() for p in (project / "infra" / "terraform").glob("*.tf")
    )
    assert done.seconds < 2


@pytest.mark.parametrize(("kind", "platform"), [("apprunner", "App Runner"), ("ecs-express", "ECS Express")])
def test_new_container_service_has_an_entry_point_and_a_container_dockerfile(
    project: Path, kind: str, platform: str
) -> None:
    done = new_service(project, kind, "storefront", path="/shop")  # type: ignore[arg-type]
    service = project / "services" / "storefront"
    assert (service / "storefront" / "__main__.py").is_file()
    assert (service / "tests" / "unit" / "test_storefront_process.py").is_file()
    main = (service / "storefront" / "main.py").read_text()
    assert 'os.environ.get("PORT", DEFAULT_PORT)' in main and "uvicorn.run" in main
    dockerfile = (service / "Dockerfile.apprunner").read_text()
    assert platform in dockerfile and 'CMD ["python", "-m", "storefront.main"]' in dockerfile
    svc = load_stack(project).services["storefront"]
    assert (svc.kind, svc.path) == (kind, "/shop")
    assert done.path == "/shop"


def test_the_generated_code_is_ruff_clean(project: Path) -> None:
    new_service(project, "lambda", "ledger", auth="token")
    new_service(project, "apprunner", "storefront")
    ruff = Path(sys.executable).parent / "ruff"
    services = [str(project / "services" / "ledger"), str(project / "services" / "storefront")]
    config = str(REPO / "pyproject.toml")
    check = subprocess.run([ruff, "check", "--config", config, *services], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([ruff, "format", "--check", "--config", config, *services], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda root: new_service(root, "lambda", "app"), "too generic"),
        (lambda root: new_service(root, "lambda", "Orders"), "lowercase"),
        (lambda root: new_service(root, "lambda", "json"), "standard-library"),
        (lambda root: new_service(root, "lambda", "orders", path="/web"), "already routed to service 'web'"),
        (lambda root: new_service(root, "lambda", "orders", path="/"), "already routed to service 'gateway'"),
        (lambda root: new_service(root, "lambda", "worker"), "already exists"),
        (lambda root: new_service(root, "lambda", "orders", auth="basic"), "unknown auth"),
        (lambda root: new_service(root, "lambda", "taken"), "services/taken already exists"),
        (lambda root: add_resource(root, "table", "sessions"), "already declared"),
        (lambda root: add_resource(root, "queue", "jobs", to="worker"), "already declared"),
        (lambda root: add_resource(root, "bucket", "files", to="nope"), "no service named 'nope'"),
        (lambda root: add_resource(root, "queue", "events", to="worker", access="read"), "invalid access"),
        (lambda root: add_resource(root, "table", "events", access="read"), "--access needs --to"),
        (lambda root: add_resource(root, "bucket", "my_files"), "invalid bucket name"),
        (lambda root: add_resource(root, "queue", "events", keys={"hash_key": "id"}), "--hash-key: not an option"),
    ],
)
def test_bad_input_is_one_error_with_exit_code_2_and_nothing_written(project: Path, call: object, message: str) -> None:
    (project / "services" / "taken").mkdir()
    (project / "services" / "taken" / "keep.txt").write_text("mine")
    before = snapshot(project)
    with pytest.raises(ScaffoldError, match=message) as caught:
        call(project)  # type: ignore[operator]
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message
    assert snapshot(project) == before


def test_an_edit_that_would_make_the_manifest_invalid_writes_nothing(project: Path) -> None:
    # the name is fine, but once prefixed it is too long for an App Runner service name (40 characters)
    before = snapshot(project)
    with pytest.raises(Exception, match="at most 40 characters"):
        new_service(project, "apprunner", "a-very-long-storefront-name-that-aws-refuses")
    assert snapshot(project) == before


def test_add_declares_with_defaults_and_grants(project: Path) -> None:
    new_service(project, "lambda", "ledger")
    # WHEN a queue is added for a Lambda with a 30 s timeout, and a table with default access
    queue = add_resource(project, "queue", "ledger-events", to="ledger")
    table = add_resource(project, "table", "entries", to="ledger")
    bucket = add_resource(project, "bucket", "receipts", to="worker", access="read")
    database = add_resource(project, "database", "books")
    # THEN they are declared with sensible defaults and granted
    stack = load_stack(project)
    assert stack.queues["ledger-events"].visibility_timeout == 180  # 6x the consumer's timeout
    assert stack.tables["entries"].hash_key == "id"
    assert stack.buckets["receipts"].versioning
    assert stack.databases["books"].engine == "postgres"
    assert stack.services["ledger"].uses == {"ledger-events": "send", "entries": "read-write"}
    assert stack.services["worker"].uses["receipts"] == "read"
    assert "books" not in stack.services["worker"].uses
    assert queue.variables[0] == "LEDGER_EVENTS_QUEUE_URL" and queue.lookup == 'queue_url("ledger-events")'
    assert table.variables == ["ENTRIES_TABLE_NAME"]
    assert bucket.access == "read" and database.service is None
    # AND the Terraform grants it: the ledger's role may use the table
    terraform = "\n".join(p.read_text() for p in (project / "infra" / "terraform").glob("*.tf"))
    assert "entries" in terraform and "receipts" in terraform and "books" in terraform
    # AND the worker's comment survived
    assert "# the gateway's authorizer checks x-api-key" in (project / "stratus.toml").read_text()


def test_add_a_table_with_its_keys_and_a_model_with_its_id(project: Path) -> None:
    new_service(project, "lambda", "ledger")
    add_resource(project, "table", "entries", to="ledger", keys={"hash_key": "account", "range_key": "at"})
    model = add_resource(project, "model", "writer", to="ledger", keys={"id": "amazon.nova-micro-v1:0"})
    stack = load_stack(project)
    assert (stack.tables["entries"].hash_key, stack.tables["entries"].range_key) == ("account", "at")
    assert stack.models["writer"].id == "amazon.nova-micro-v1:0"
    assert stack.services["ledger"].uses["writer"] == "invoke"
    assert model.variables == ["WRITER_MODEL_ID"] and model.lookup == 'model_id("writer")'
    terraform = (project / "infra" / "terraform" / "bedrock-writer.tf").read_text()
    assert 'model_id = "amazon.nova-micro-v1:0"' in terraform
    # AND a model id Bedrock could not know is refused, naming the field, and nothing is written
    before = snapshot(project)
    with pytest.raises(ManifestError, match=r"models\.judge\.id: must be a Bedrock foundation model id"):
        add_resource(project, "model", "judge", keys={"id": "gpt 4"})
    assert snapshot(project) == before


def test_without_infra_terraform_nothing_is_rendered(project: Path) -> None:
    shutil.rmtree(project / "infra")
    done = new_service(project, "lambda", "ledger")
    added = add_resource(project, "table", "entries", to="ledger")
    assert not done.infra and not added.infra
    assert not (project / "infra").exists()
