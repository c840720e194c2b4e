"""The pytest plugin of Stratus (registered through the ``pytest11`` entry point): the local cloud as a fixture.

``stratus_cloud`` (one per session) is the stack of the project under test, a :class:`~stratus.testing.cloud.
StratusCloud`. By default the plugin starts ``stratus dev`` for it on free ports, with its state, data and logs
in a temporary directory (so a ``stratus dev`` the developer runs in the same project is left alone), once, at
the first test that asks for it, and stops it at the end. ``--stratus-attach`` uses the project's running
``stratus dev`` instead; ``--stratus-url URL`` a deployed stack (what ``stratus test --against URL`` runs), where
the tests that need the local AWS are skipped. When no stack can start (a port taken, a bad manifest), the
session stops with that one error.

``stratus_fresh``: the same cloud, emptied first (:meth:`~stratus.testing.cloud.StratusCloud.fresh`).
``stratus_service``: one service's app in-process, with the environment the stack gives it, against a local AWS
of its own (no other service, no HTTP API): ``client = stratus_service("players", caller="alice")``.

Nothing here imports more than pytest until a fixture is used: the plugin loads in every pytest run of an
environment that has Stratus.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from stratus.testing.cloud import StratusCloud

_CLOUD = pytest.StashKey["StratusCloud | None"]()
_CLOSERS = pytest.StashKey["list[Callable[[], object]]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stratus", "Stratus: the stack under test (stratus_cloud)")
    group.addoption(
        "--stratus-url", metavar="URL", help="test a deployed stack at URL (its HTTP API) instead of stratus dev"
    )
    group.addoption("--stratus-attach", action="store_true", help="use the project's running stratus dev")
    group.addoption("--stratus-env", metavar="ENV", default="dev", help="the manifest's environment [dev]")
    group.addoption("--stratus-root", metavar="DIR", help="the project (the directory of stratus.toml)")
    group.addoption(
        "--stratus-port", metavar="PORT", type=int, default=0, help="the HTTP API's port of the stack [a free one]"
    )
    group.addoption("--stratus-api-key", metavar="KEY", help="an API key of the deployed stack")
    group.addoption("--stratus-token", metavar="TOKEN", help="a signed-in user's access token on the deployed stack")
    group.addoption("--stratus-client", metavar="ID:SECRET", help="a machine client of the deployed stack")
    group.addoption("--stratus-invite", metavar="CODE", help="a registration invitation of the deployed stack")
    parser.addini("stratus_token_path", "the stack's OAuth token endpoint", default="/auth/token")
    parser.addini("stratus_register_path", "the stack's registration endpoint", default="/auth/register")
    parser.addini("stratus_start_timeout", "seconds stratus dev may take to be ready", default="180")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "smoke: the fast part of the services' integration tests, which `stratus deploy` runs against the "
        "stack it deployed",
    )
    config.stash[_CLOUD] = None
    config.stash[_CLOSERS] = []


def pytest_unconfigure(config: pytest.Config) -> None:
    closers: list[Callable[[], object]] = config.stash.get(_CLOSERS, [])
    for close in reversed(closers):
        close()


_USES_CLOUD = frozenset({"stratus_cloud", "stratus_fresh"})


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which turns the groups into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), the tests that use the session's stack run on one worker, so the
    stack starts once, not once per worker."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if _USES_CLOUD.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("stratus_cloud"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    cloud = item.config.stash.get(_CLOUD, None)
    if cloud is not None:
        cloud.mark()  # logs() of this test start here


def _endpoints(config: pytest.Config) -> Any:
    from stratus.testing.cloud import Endpoints

    token, register = config.getini("stratus_token_path"), config.getini("stratus_register_path")
    return Endpoints(token=str(token), register=str(register))


def _root(config: pytest.Config) -> Path:
    from stratus.manifest import find_root

    given = config.getoption("stratus_root")
    return Path(given).resolve() if given else find_root(Path(config.rootpath))


def start_cloud(config: pytest.Config) -> StratusCloud:
    """The session's cloud, per the options (see the module docstring); raises :class:`StratusError` or
    :class:`~stratus.testing.launcher.StackFailed`."""
    from stratus import paths
    from stratus.manifest import load_stack
    from stratus.testing import remote
    from stratus.testing.cloud import Remote, StratusCloud

    closers = config.stash[_CLOSERS]
    url, env = config.getoption("stratus_url"), config.getoption("stratus_env")
    if url:
        remote.check_stack(url)
        client = _given(config, "client")
        given = Remote(
            api_key=_given(config, "api_key"),
            token=_given(config, "token"),
            client=tuple(client.split(":", 1)) if client else None,  # type: ignore[arg-type]
            invite=_given(config, "invite"),
        )
        cloud = StratusCloud(url, stack=_manifest_if_any(config, env), remote=given, endpoints=_endpoints(config))
        closers.append(cloud.close)
        return cloud

    root = _root(config)
    stack = load_stack(root, env=env)  # a bad manifest: its one error, before anything starts
    if config.getoption("stratus_attach"):
        from stratus.local.client import require_running

        state = require_running(root, env)
        cloud = StratusCloud.attach(stack, state, paths.state_dir(root), _endpoints(config))
        closers.append(cloud.close)
        return cloud

    from stratus.testing.launcher import DevStack

    state_dir = Path(tempfile.mkdtemp(prefix="stratus-tests-"))
    closers.append(lambda: shutil.rmtree(state_dir, ignore_errors=True))  # last: after the stack stopped
    args = ("--no-reload", *(("--env", env) if env != "dev" else ()))
    timeout = float(config.getini("stratus_start_timeout"))
    port = config.getoption("stratus_port") or None
    running = DevStack(root, *args, timeout=timeout, state_dir=state_dir, port=port)
    closers.append(running.stop)
    cloud = StratusCloud.attach(stack, running.dev_state(), state_dir, _endpoints(config))
    cloud.launcher = running
    closers.append(cloud.close)
    return cloud


def _given(config: pytest.Config, name: str) -> str | None:
    """A credential for a deployed stack: ``--stratus-<name>``, else ``STRATUS_<NAME>`` (how ``stratus test
    --against`` passes them: no secret on a command line)."""
    from stratus.testing.remote import CREDENTIALS

    value = config.getoption(f"stratus_{name}") or os.environ.get(CREDENTIALS[name])
    return str(value) if value else None


def _manifest_if_any(config: pytest.Config, env: str) -> Any:
    """The manifest's model for a deployed stack's tests (what CORS origins to expect...), if there is one here."""
    from stratus.errors import StratusError
    from stratus.manifest import load_stack

    try:
        return load_stack(_root(config), env=env)
    except StratusError:
        return None


@pytest.fixture(scope="session")
def stratus_cloud(pytestconfig: pytest.Config) -> StratusCloud:
    """The stack under test (started once per session; see :mod:`stratus.testing.plugin`)."""
    from stratus.errors import StratusError
    from stratus.testing.launcher import StackFailed

    cloud = pytestconfig.stash[_CLOUD]
    if cloud is None:
        try:
            cloud = start_cloud(pytestconfig)
        except StackFailed as failed:
            pytest.exit(f"stratus_cloud: {failed.summary()}", returncode=pytest.ExitCode.USAGE_ERROR)
        except StratusError as error:
            hint = f" ({error.hint})" if getattr(error, "hint", None) else ""
            pytest.exit(f"stratus_cloud: {error}{hint}", returncode=pytest.ExitCode.USAGE_ERROR)
        pytestconfig.stash[_CLOUD] = cloud
        cloud.mark()
    return cloud


@pytest.fixture
def stratus_fresh(stratus_cloud: StratusCloud) -> StratusCloud:
    """The session's local cloud with every table, queue, bucket and database emptied first."""
    stratus_cloud.fresh()
    return stratus_cloud


@pytest.fixture
def stratus_service(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """``stratus_service(name, caller=None)``: a TestClient of one service's app, in this process, with the
    environment the stack gives it and moto's AWS, provisioned from the manifest (:mod:`stratus.testing.inprocess`)."""
    from stratus.manifest import load_stack
    from stratus.testing.inprocess import InProcess

    services = InProcess(load_stack(_root(pytestconfig), env=pytestconfig.getoption("stratus_env")), monkeypatch)
    try:
        yield services.client
    finally:
        services.close()
