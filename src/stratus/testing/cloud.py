"""What the ``stratus_cloud`` fixture gives a test: the stack's HTTP API, its callers, and (locally) its AWS.

One object for both kinds of stack, so a service's integration tests run unchanged against ``stratus dev`` and
against a deployed stack (``stratus test --against URL``):

- everywhere: :attr:`StratusCloud.url`, :meth:`~StratusCloud.client` (an httpx client, optionally with an API key
  or a bearer token), :meth:`~StratusCloud.api_key`, :meth:`~StratusCloud.user` (registered and signed in through
  the stack's own endpoints) and :meth:`~StratusCloud.token`;
- on the local cloud only (a test that needs them is skipped against a deployed stack, saying why):
  :meth:`~StratusCloud.aws` (boto3 clients of the local AWS), :meth:`~StratusCloud.invoke`,
  :meth:`~StratusCloud.send` and :meth:`~StratusCloud.drain`, :meth:`~StratusCloud.trigger`,
  :meth:`~StratusCloud.logs` (the function logs of the current test) and :meth:`~StratusCloud.fresh`.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from stratus import paths
from stratus.errors import StratusError

if TYPE_CHECKING:
    from pathlib import Path

    from stratus.local.client import Invocation
    from stratus.local.state import DevState
    from stratus.manifest import Stack
    from stratus.testing.launcher import DevStack

__all__ = ["Drained", "Endpoints", "Remote", "StratusCloud", "User"]

USER_AGENT = "stratus-tests"


@dataclass(frozen=True)
class Endpoints:
    """Where the stack's identity provider answers (the reference idp's by default; ini ``stratus_token_path``,
    ``stratus_register_path``)."""

    token: str = "/auth/token"  # noqa: S105 (a path)
    register: str = "/auth/register"


@dataclass(frozen=True)
class Remote:
    """Credentials given for a deployed stack, which the tests cannot mint there (``stratus test --api-key …``)."""

    api_key: str | None = None
    token: str | None = None
    client: tuple[str, str] | None = None  # a machine client's (id, secret), for tokens with scopes
    invite: str | None = None  # a registration invitation, when registration is by invitation


@dataclass(frozen=True)
class User:
    """A user registered and signed in through the stack's endpoints."""

    username: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class Drained:
    """What :meth:`StratusCloud.drain` waited for."""

    seconds: float
    dead_lettered: int  # messages that reached the DLQ while draining


@dataclass
class _Local:
    state: DevState
    state_dir: Path
    marks: dict[Path, int] = field(default_factory=dict)
    dlq_baseline: dict[str, int] = field(default_factory=dict)


def _skip(reason: str) -> None:
    import pytest

    pytest.skip(reason)


class StratusCloud:
    """A running stack: the local cloud (``local``) or a deployed one."""

    def __init__(
        self,
        url: str,
        *,
        stack: Stack | None = None,
        local: _Local | None = None,
        remote: Remote | None = None,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.stack = stack
        """The manifest's model of the stack under test, for its environment (None: no stratus.toml here)."""
        self._local = local
        self._remote = remote or Remote()
        self.endpoints = endpoints or Endpoints()
        self.http = self.client()
        self.launcher: DevStack | None = None  # the `stratus dev` the plugin started (None: attached, or deployed)
        self._keys: dict[tuple[str, ...], str] = {}
        self._clients: dict[tuple[str, ...], tuple[str, str]] = {}
        self._signed_in: User | None = None
        self._addresses = iter(range(1, 1 << 16))

    @classmethod
    def attach(cls, stack: Stack, state: DevState, state_dir: Path, endpoints: Endpoints | None = None) -> StratusCloud:
        """The cloud of the ``stratus dev`` whose ``dev.json`` is in ``state_dir``."""
        return cls(state.api, stack=stack, local=_Local(state, state_dir), endpoints=endpoints)

    @property
    def local(self) -> bool:
        """The local cloud (``stratus dev``), where the AWS side is reachable too."""
        return self._local is not None

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------------------------------------ HTTP

    def client(
        self,
        path: str = "",
        *,
        api_key: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        source: str | None = None,
    ) -> httpx.Client:
        """An httpx client of the HTTP API under ``path`` (``"/users"``), sending ``api_key`` as ``x-api-key`` and
        ``token`` as a bearer token. ``source`` (local only): the client address the HTTP API sees (127.0.0.x), so
        that limits per source IP of one test leave the others alone."""
        sent = {"user-agent": USER_AGENT, **(headers or {})}
        if api_key:
            sent["x-api-key"] = api_key
        if token:
            sent["authorization"] = f"Bearer {token}"
        transport = httpx.HTTPTransport(local_address=source) if source and self.local else None
        return httpx.Client(base_url=self.url + path, headers=sent, timeout=30, transport=transport)

    def source_address(self) -> str | None:
        """A loopback address no other caller of this session used (local only; None for a deployed stack)."""
        if not self.local:
            return None
        n = next(self._addresses)
        return f"127.{(n >> 8) & 255}.{n & 255}.{7 + (n >> 16)}"

    # ------------------------------------------------------------------------------------------- callers

    def api_key(self, *scopes: str, name: str = "tests") -> str:
        """An API key of the stack with ``scopes`` (made once per set of scopes). Against a deployed stack, the one
        given (``--api-key``), whatever the scopes; the test is skipped without one."""
        if self._local is None:
            if not self._remote.api_key:
                _skip("needs an API key of the deployed stack: give one with --api-key")
            return str(self._remote.api_key)
        wanted = tuple(sorted(scopes))
        if wanted not in self._keys:
            from stratus_common import apikeys

            from stratus.deploy.apikeys import table_name

            created = apikeys.create_api_key(
                self.aws("dynamodb"), table_name(self._manifest()), name=name, scopes=wanted
            )
            self._keys[wanted] = created.plaintext
        return self._keys[wanted]

    def user(self, *, username: str | None = None, password: str | None = None) -> User:
        """A new user, registered and signed in through the stack's endpoints (a fresh local source address for
        each, so the idp's limits per source IP hold for the tests as for anyone)."""
        username = username or f"t{secrets.token_hex(6)}"
        password = password or f"pw-{secrets.token_urlsafe(18)}"
        body: dict[str, str] = {"username": username, "password": password}
        if self._remote.invite:
            body["invite"] = self._remote.invite
        with self.client(source=self.source_address()) as http:
            registered = http.post(self.endpoints.register, json=body)
            if registered.status_code == 403 and self._local is not None:
                body["invite"] = self._invite()
                registered = http.post(self.endpoints.register, json=body)
            if registered.status_code == 403:
                _skip("registration is closed on this stack: give --invite, or --token for a signed-in user")
            _expect(registered, 201, f"POST {self.endpoints.register}")
            signed_in = http.post(
                self.endpoints.token, data={"grant_type": "password", "username": username, "password": password}
            )
        _expect(signed_in, 200, f"POST {self.endpoints.token}")
        tokens = signed_in.json()
        return User(username, password, tokens["access_token"], tokens.get("refresh_token", ""))

    def token(self, *scopes: str) -> str:
        """A bearer token. Without ``scopes``: the session's signed-in user's (registered once; against a deployed
        stack, ``--token`` if given). With them: a machine client's holding those scopes (``client_credentials``),
        made locally; against a deployed stack, from ``--client ID:SECRET``."""
        if not scopes:
            if self._local is None and self._remote.token:
                return self._remote.token
            if self._signed_in is None:
                self._signed_in = self.user()
            return self._signed_in.access_token
        client_id, secret = self._machine_client(tuple(sorted(scopes)))
        with self.client(source=self.source_address()) as http:
            response = http.post(
                self.endpoints.token,
                data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
                auth=(client_id, secret),
            )
        _expect(response, 200, f"POST {self.endpoints.token} (client_credentials)")
        return str(response.json()["access_token"])

    def _machine_client(self, scopes: tuple[str, ...]) -> tuple[str, str]:
        if self._local is None:
            if self._remote.client is None:
                _skip(f"needs a machine client with {' '.join(scopes)} on the deployed stack: give --client ID:SECRET")
            assert self._remote.client is not None
            return self._remote.client
        if scopes not in self._clients:
            from stratus_common import clients

            from stratus.deploy.accounts import table_name

            client_id = f"tests-{secrets.token_hex(4)}"
            created = clients.create_client(
                self.aws("dynamodb"), table_name(self._manifest()), client_id, scopes=scopes
            )
            self._clients[scopes] = (created.client.client_id, created.secret)
        return self._clients[scopes]

    def _invite(self) -> str:
        from stratus_common import invites

        from stratus.deploy.accounts import table_name

        self._need_local("an invitation")
        return invites.create_invite(self.aws("dynamodb"), table_name(self._manifest())).code

    # ----------------------------------------------------------------------------------------- local AWS

    def _manifest(self) -> Stack:
        if self.stack is None:
            raise StratusError("no stratus.toml for the stack under test", hint="give --stratus-root DIR")
        return self.stack

    def _need_local(self, what: str) -> _Local:
        if self._local is None:
            _skip(f"{what} needs the local cloud (stratus dev), not a deployed stack")
        assert self._local is not None
        return self._local

    def aws(self, service: str) -> Any:
        """A boto3 client of the local AWS (``"lambda"``: its Lambda Invoke API)."""
        from stratus.local import client

        return client.client(self._need_local(f"a {service} client").state, service)

    def name(self, resource: str) -> str:
        """The AWS name of a declared queue, table, bucket or secret (``"jobs"`` -> ``stratus-dev-jobs``)."""
        plan = self._manifest().plan
        for kind in (plan.queues, plan.tables, plan.buckets, plan.secrets):
            if resource in kind:
                return kind[resource].aws_name
        where = self._manifest().manifest_path.name
        raise StratusError(f"{resource!r} is no queue, table, bucket or secret of {where}")

    def invoke(self, service: str, event: Any, *, handler: str | None = None) -> Invocation:
        """Invoke a function of the stack synchronously (the service's HTTP function, or the one running
        ``handler``), as the Lambda Invoke API does, with its log tail."""
        from stratus.local import client

        state = self._need_local("invoke").state
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        return client.invoke(state, client.function_key(state, service, handler), payload)

    def trigger(self, schedule: str) -> Invocation:
        """Fire ``SERVICE.SCHEDULE`` (``"worker.sweeper"``) now, with the event its rule would send."""
        from stratus.local import client

        return client.trigger(self._need_local("trigger").state, schedule)

    def queue_url(self, queue: str, *, dlq: bool = False) -> str:
        self._need_local("a queue")
        declared = self._manifest().plan.queues.get(queue)
        if declared is None:
            raise StratusError(f"no queue {queue!r} in {self._manifest().manifest_path.name}")
        name = declared.dlq_name if dlq else declared.aws_name
        return str(self.aws("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def send(self, queue: str, body: Any, **attributes: str) -> str:
        """Send a message (a str, or JSON of anything else) to a declared queue; its message id."""
        text = body if isinstance(body, str) else json.dumps(body)
        local = self._need_local("send")
        local.dlq_baseline.setdefault(queue, self._depth(queue, dlq=True))
        extra = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        sent = self.aws("sqs").send_message(
            QueueUrl=self.queue_url(queue), MessageBody=text, **({"MessageAttributes": extra} if extra else {})
        )
        return str(sent["MessageId"])

    def _depth(self, queue: str, *, dlq: bool = False) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        if not dlq:
            names.append("ApproximateNumberOfMessagesDelayed")
        got = self.aws("sqs").get_queue_attributes(QueueUrl=self.queue_url(queue, dlq=dlq), AttributeNames=names)
        return sum(int(value) for value in got["Attributes"].values())

    def drain(self, queue: str, *, timeout: float = 60.0) -> Drained:
        """Wait until the queue's consumer has handled every message sent to it (each deleted, or moved to the
        DLQ after its receives): nothing waiting, in flight or delayed. ``dead_lettered`` counts the DLQ's new
        messages since the test's first :meth:`send` to the queue (else since the drain began)."""
        local = self._need_local("drain")
        declared = self._manifest().plan.queues.get(queue)
        if declared is None or not declared.consumers:
            raise StratusError(f"queue {queue!r} has no consumer in this stack: nothing would drain it")
        started = time.monotonic()
        baseline = local.dlq_baseline.pop(queue, None)
        if baseline is None:
            baseline = self._depth(queue, dlq=True)
        empty_since: float | None = None
        while True:
            now = time.monotonic()
            if self._depth(queue) == 0:
                empty_since = empty_since or now
                if now - empty_since >= 0.1:  # stays empty: no receive in between put one back
                    break
            else:
                empty_since = None
            if now - started > timeout:
                raise AssertionError(f"queue {queue!r} still holds messages after {timeout:.0f} s")
            time.sleep(0.05)
        after = self._depth(queue, dlq=True)
        return Drained(time.monotonic() - started, after - baseline)

    def dead_letters(self, queue: str) -> list[str]:
        """The bodies in the queue's DLQ (read with a visibility timeout of 0: they stay there)."""
        sqs, url = self.aws("sqs"), self.queue_url(queue, dlq=True)
        seen: dict[str, str] = {}
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
            fresh = {m["MessageId"]: m["Body"] for m in got.get("Messages", []) if m["MessageId"] not in seen}
            if not fresh:
                break
            seen.update(fresh)
        return list(seen.values())

    # ---------------------------------------------------------------------------------------------- logs

    def _log_files(self, local: _Local) -> list[Path]:
        folder = local.state_dir / paths.LOGS_DIR
        return sorted(folder.glob("*.log")) if folder.is_dir() else []

    def mark(self) -> None:
        """Start of a test: :meth:`logs` returns what is logged from now on (the plugin calls it)."""
        if self._local is not None:
            self._local.marks = {path: path.stat().st_size for path in self._log_files(self._local)}
            self._local.dlq_baseline.clear()

    def logs(self, service: str | None = None) -> str:
        """The lines the stack logged since the current test started (``service``: its functions' only, e.g.
        ``"worker"`` for ``worker`` and ``worker/jobs``), each ``<time> <source> | [<request id>] <line>``."""
        local = self._need_local("logs")
        chunks = []
        for path in self._log_files(local):
            source = path.stem.split(".")[0]
            if service is not None and source != service:
                continue
            with path.open("rb") as log:
                log.seek(local.marks.get(path, 0))
                chunks.append(log.read().decode(errors="replace"))
        return "".join(chunks)

    def wait_log(self, pattern: str, *, service: str | None = None, timeout: float = 10.0) -> str:
        """The logs of the current test once a line matches ``pattern`` (a regex; logs are written in batches)."""
        import re

        deadline = time.monotonic() + timeout
        while not re.search(pattern, text := self.logs(service)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r} after {timeout} s:\n{text[-3000:]}")
            time.sleep(0.02)
        return text

    # --------------------------------------------------------------------------------------------- fresh

    def fresh(self) -> None:
        """Empty every declared table, queue (and DLQ) and bucket, and every table of the databases but their
        migrations' own: the next test starts from nothing. Keys, users and tokens made before are gone too."""
        from stratus.testing import emptying

        local = self._need_local("fresh")
        queues = [self.queue_url(queue, dlq=dlq) for queue in self._manifest().plan.queues for dlq in (False, True)]
        emptying.empty(self._manifest().plan, self.aws, queues, local.state.databases.values())
        local.dlq_baseline.clear()
        self._keys.clear()
        self._clients.clear()
        self._signed_in = None


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise AssertionError(f"{what} answered {response.status_code}, not {status}: {response.text[:300]}")
