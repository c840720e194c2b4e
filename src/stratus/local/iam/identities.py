"""Who signed a request: the account's root (the local cloud's own credentials), an IAM user's access key, or
the temporary credentials of an assumed role, looked up where the embedded AWS keeps them (moto's IAM and STS),
with the policies IAM evaluates for each.

- The root: :data:`stratus.naming.LOCAL_CREDENTIALS` (what ``stratus dev`` itself, ``stratus apikey`` and the
  tests' ``aws()`` sign with, as an operator's administrator credentials would in AWS). Root is allowed
  everything, as in AWS for an account without SCPs.
- An assumed role's session: the role's inline and attached policies, and the session policy given to
  ``AssumeRole``; its key is refused once the session has expired, or with another session token.
- An IAM user: its inline and attached policies and its groups'; an inactive key is an unknown one.
"""

from __future__ import annotations

import calendar
import functools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from stratus import naming
from stratus.local.iam import policy

ROOT_KEY = naming.LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
ROOT_SECRET = naming.LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]


class Unknown(Exception):
    """The key is not one AWS would know (``UnrecognizedClient``/``InvalidClientTokenId``)."""


class InvalidToken(Exception):
    """The key belongs to a session, but the session token is not its own (or is missing)."""


class Expired(Exception):
    """The session the key belongs to has expired."""


@dataclass
class Principal:
    kind: Literal["root", "role", "user"]
    arn: str  # what an access-denied message names: the user, or the assumed-role session
    secret: str
    account: str
    principal_arn: str = ""  # aws:PrincipalArn: the role for a session
    user_id: str = ""
    policies: list[policy.Policy] = field(default_factory=list)
    session_policy: policy.Policy | None = None
    role_name: str = ""
    expires: float | None = None  # epoch seconds, for a session

    @functools.cached_property
    def contextual(self) -> bool:
        """Whether a decision for this principal can depend on the request's context; if not, decisions are
        kept (:attr:`decisions`), since the same action on the same resource gets the same answer."""
        policies = [*self.policies, *([self.session_policy] if self.session_policy else [])]
        return any(p.contextual for p in policies)

    @functools.cached_property
    def decisions(self) -> dict[tuple[str, str], policy.Decision]:
        return {}

    @functools.cached_property
    def context(self) -> dict[str, str]:
        """The global condition keys of IAM that come from the principal."""
        out = {
            "aws:principalarn": self.principal_arn or self.arn,
            "aws:principalaccount": self.account,
            "aws:principaltype": {"root": "Account", "role": "AssumedRole", "user": "User"}[self.kind],
            "aws:userid": self.user_id or self.account,
        }
        if self.kind == "user":
            out["aws:username"] = self.arn.rsplit("/", 1)[-1]
        return out


class Directory:
    """Looks principals up in moto's backends (the process of the embedded AWS). What it found is kept until
    :attr:`generation` changes, which the enforcer bumps after every call to IAM or STS (the only ways a
    principal, its keys or its policies change)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.generation = 0
        self._lock = threading.Lock()
        self._root = Principal("root", f"arn:aws:iam::{account}:root", ROOT_SECRET, account)
        self._found: dict[tuple[str, str | None], tuple[int, Principal]] = {}

    def find(self, access_key: str, session_token: str | None) -> Principal:
        if access_key == ROOT_KEY:
            return self._root
        known = self._found.get((access_key, session_token))
        if known is not None and known[0] == self.generation:
            principal = known[1]
        else:
            generation = self.generation
            with self._lock:  # moto's backends are plain lists and dicts
                session = self._session(access_key)
                principal = self._role(session, session_token) if session else self._user(access_key, session_token)
            self._found[(access_key, session_token)] = (generation, principal)
        if principal.expires is not None and time.time() >= principal.expires:
            raise Expired
        return principal

    def _iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account]["aws"]

    def _session(self, access_key: str) -> Any:
        from moto.sts.models import sts_backends

        for assumed in reversed(sts_backends[self.account]["aws"].assumed_roles):
            if assumed.access_key_id == access_key:
                return assumed
        return None

    def _role(self, session: Any, session_token: str | None) -> Principal:
        if not session_token:  # temporary credentials are three parts; without the token the key is unknown
            raise Unknown
        if session_token != session.session_token:
            raise InvalidToken
        role_name = session.role_arn.rsplit("/", 1)[-1]
        iam = self._iam()
        try:
            role = iam.get_role(role_name)
        except Exception:
            documents: list[tuple[str, str]] = []
            role_id = "AROA" + role_name.upper()[:17]
        else:
            documents = [(name, _text(doc)) for name, doc in role.policies.items()]
            documents += [_managed(p) for p in role.managed_policies.values()]
            role_id = role.id
        expiration: datetime = session.expiration  # naive, UTC (moto's utcnow)
        return Principal(
            "role",
            session.arn,
            session.secret_access_key,
            self.account,
            principal_arn=session.role_arn,
            user_id=f"{role_id}:{session.session_name}",
            policies=[policy.parse(doc, name) for name, doc in documents],
            session_policy=policy.parse(session.policy, "session policy") if session.policy else None,
            role_name=role_name,
            expires=calendar.timegm(expiration.timetuple()),
        )

    def _user(self, access_key: str, session_token: str | None) -> Principal:
        iam = self._iam()
        for user in iam.users.values():
            for key in user.access_keys:
                if key.access_key_id != access_key:
                    continue
                if key.status != "Active":
                    raise Unknown
                if session_token:
                    raise InvalidToken
                documents = [(name, _text(doc)) for name, doc in user.policies.items()]
                documents += [_managed(p) for p in user.managed_policies.values()]
                for group in iam.get_groups_for_user(user.name):
                    documents += [(name, _text(doc)) for name, doc in group.policies.items()]
                    documents += [_managed(p) for p in group.managed_policies.values()]
                return Principal(
                    "user",
                    user.arn,
                    key.secret_access_key,
                    self.account,
                    user_id=user.id,
                    policies=[policy.parse(doc, name) for name, doc in documents],
                )
        raise Unknown


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _managed(managed: Any) -> tuple[str, str]:
    """A managed policy's default version."""
    version = next(v for v in managed.versions if v.is_default)
    return managed.name, _text(version.document)
