"""stratus_common.database: the URL with the credentials of <NAME>_DATABASE_SECRET_ARN, cached, refreshed, and
connect()'s one retry after an authentication failure (a rotated password)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest
import stratus_common
from stratus_common import database, secrets, settings
from stratus_common.environment import ConfigurationError

if TYPE_CHECKING:
    from conftest import FakeClock, SecretsManager

URL = "postgresql://records_admin@db.example.internal:5432/records?sslmode=require"
PASSWORD = "p@ss:w/o%rd?#&é 1"
NEW_PASSWORD = "n3w/p@ss:after%rotation"


def _credentials(username: str = "records_admin", password: str = PASSWORD) -> str:
    return json.dumps({"username": username, "password": password, "engine": "postgres"})


@pytest.fixture
def records(secrets_manager: SecretsManager, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database ``records``: its URL (no password) and the ARN of its credentials' secret."""
    arn = secrets_manager.create("rds!db-records", _credentials())
    monkeypatch.setenv("RECORDS_DATABASE_URL", URL)
    monkeypatch.setenv("RECORDS_DATABASE_SECRET_ARN", arn)
    return arn


class AuthFailed(Exception):
    """What psycopg raises when the password is wrong (an OperationalError with SQLSTATE 28P01)."""

    sqlstate = "28P01"


class Connector:
    """Records the URLs it is called with; fails as told."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.urls: list[str] = []

    def __call__(self, url: str) -> str:
        self.urls.append(url)
        if self.failures:
            raise self.failures.pop(0)
        return f"connection #{len(self.urls)}"


def test_the_url_gets_the_secrets_credentials_quoted(records: str) -> None:
    # WHEN the URL of the database is asked for
    url = database.database_url("records")
    # THEN it has the secret's username and password, percent-encoded, and the rest of the URL as it was
    parts = urlsplit(url)
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == ("records_admin", PASSWORD)
    assert url == (
        "postgresql://records_admin:p%40ss%3Aw%2Fo%25rd%3F%23%26%C3%A9%201@db.example.internal:5432/records"
        "?sslmode=require"
    )
    assert (parts.hostname, parts.port, parts.path, parts.query) == (
        "db.example.internal",
        5432,
        "/records",
        "sslmode=require",
    )


def test_the_url_is_understood_by_psycopg(records: str) -> None:
    conninfo = pytest.importorskip("psycopg.conninfo")
    parsed = conninfo.conninfo_to_dict(database.database_url("records"))
    assert (parsed["user"], parsed["password"], parsed["host"], parsed["dbname"]) == (
        "records_admin",
        PASSWORD,
        "db.example.internal",
        "records",
    )


def test_the_secrets_credentials_replace_any_in_the_url(
    records: str, secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", "postgresql://old:stale@[::1]:5433/records")
    assert (
        database.database_url("records")
        == "postgresql://records_admin:p%40ss%3Aw%2Fo%25rd%3F%23%26%C3%A9%201@[::1]:5433/records"
    )


def test_an_empty_password_is_left_out(secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the local cloud's secret: the embedded PostgreSQL's user, no password
    monkeypatch.setenv("RECORDS_DATABASE_URL", "postgresql://postgres@127.0.0.1:54321/records")
    arn = secrets_manager.create("acme-dev-records", json.dumps({"username": "postgres", "password": ""}))
    monkeypatch.setenv("RECORDS_DATABASE_SECRET_ARN", arn)
    assert database.database_url("records") == "postgresql://postgres@127.0.0.1:54321/records"


def test_without_a_secret_the_url_is_returned_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", "postgresql://u:p@localhost/records")
    assert database.database_url("records") == "postgresql://u:p@localhost/records"


def test_the_secret_is_cached_and_refreshed(records: str, secrets_manager: SecretsManager, clock: FakeClock) -> None:
    # GIVEN the URL asked for many times within the TTL
    for _ in range(5):
        database.database_url("records")
    assert secrets_manager.reads() == 1
    # WHEN the password is rotated
    secrets_manager.rotate(records, _credentials(password=NEW_PASSWORD))
    # THEN the cached one is used until the TTL ends or a refresh
    assert unquote(urlsplit(database.database_url("records")).password or "") == PASSWORD
    assert unquote(urlsplit(database.database_url("records", refresh=True)).password or "") == NEW_PASSWORD
    assert secrets_manager.reads() == 2
    secrets_manager.rotate(records, _credentials(password=PASSWORD))
    clock.advance(secrets.DEFAULT_MAX_AGE)
    assert unquote(urlsplit(database.database_url("records")).password or "") == PASSWORD


def test_the_module_level_lookups_are_this_one(records: str) -> None:
    assert settings.database_url("records") == database.database_url("records")
    assert stratus_common.database_url is database.database_url
    # the settings' method still gives the variable as it is
    assert settings.get_settings().database_url("records") == URL


def test_a_missing_url_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATUS_SERVICE", "worker")
    with pytest.raises(ConfigurationError) as raised:
        database.database_url("records")
    message = str(raised.value)
    assert "RECORDS_DATABASE_URL" in message
    assert "[databases.records]" in message
    assert "[services.worker]" in message


@pytest.mark.parametrize(
    "value",
    ["not json " + PASSWORD, json.dumps(["records_admin", PASSWORD]), json.dumps({"password": PASSWORD})],
    ids=["not-json", "a-list", "no-username"],
)
def test_a_malformed_secret_is_refused_without_its_value(
    secrets_manager: SecretsManager, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", URL)
    monkeypatch.setenv("RECORDS_DATABASE_SECRET_ARN", secrets_manager.create("bad", value))
    with pytest.raises(ConfigurationError, match="RECORDS_DATABASE_SECRET_ARN") as raised:
        database.database_url("records")
    assert PASSWORD not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or PASSWORD not in str(raised.value.__context__)


# ------------------------------------------------------------------------------------------- connect


def test_connect_retries_once_with_the_new_password_after_a_rotation(
    records: str, secrets_manager: SecretsManager, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the credentials cached, then rotated (the cached password now fails)
    database.database_url("records")
    secrets_manager.rotate(records, _credentials(password=NEW_PASSWORD))
    connector = Connector(AuthFailed('FATAL:  password authentication failed for user "records_admin"'))
    # WHEN a connection is made
    with caplog.at_level(logging.DEBUG):
        connection = database.connect("records", connector)
    # THEN the first attempt used the old password, the second (after a re-read) the new one
    assert connection == "connection #2"
    assert [unquote(urlsplit(url).password or "") for url in connector.urls] == [PASSWORD, NEW_PASSWORD]
    assert secrets_manager.reads() == 2
    # AND the log says so without a password or URL
    assert "authentication failed" in caplog.text
    assert PASSWORD not in caplog.text
    assert NEW_PASSWORD not in caplog.text
    assert quote_free(caplog.text)


def test_connect_retries_only_once(records: str) -> None:
    connector = Connector(AuthFailed("first"), AuthFailed("second"))
    with pytest.raises(AuthFailed, match="second"):
        database.connect("records", connector)
    assert len(connector.urls) == 2


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError("connection refused"), TimeoutError("timeout"), ValueError("bad")],
    ids=["refused", "timeout", "other"],
)
def test_connect_does_not_retry_other_errors(records: str, secrets_manager: SecretsManager, error: Exception) -> None:
    connector = Connector(error)
    with pytest.raises(type(error)):
        database.connect("records", connector)
    assert len(connector.urls) == 1
    assert secrets_manager.reads() == 1


def test_connect_does_not_retry_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a URL that carries its own credentials: there is nothing newer to read
    monkeypatch.setenv("RECORDS_DATABASE_URL", "postgresql://u:p@localhost/records")
    connector = Connector(AuthFailed("password authentication failed"))
    with pytest.raises(AuthFailed):
        database.connect("records", connector)
    assert len(connector.urls) == 1


class SqlAlchemyLike(Exception):
    """SQLAlchemy's OperationalError: the driver's exception in ``.orig``."""

    def __init__(self, orig: BaseException) -> None:
        super().__init__("(psycopg.OperationalError) connection failed")
        self.orig = orig


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AuthFailed("x"), True),
        (type("Spec", (Exception,), {"sqlstate": "28000"})("no pg_hba.conf entry"), True),
        (Exception('connection failed: FATAL:  password authentication failed for user "u"'), True),
        (SqlAlchemyLike(AuthFailed("x")), True),
        (type("Other", (Exception,), {"sqlstate": "57P03"})("the database system is starting up"), False),
        (ConnectionRefusedError("refused"), False),
        (SqlAlchemyLike(TimeoutError("timeout")), False),
    ],
    ids=["28P01", "28000", "message", "wrapped", "other-sqlstate", "refused", "wrapped-other"],
)
def test_what_counts_as_an_authentication_failure(error: BaseException, expected: bool) -> None:
    assert database.is_authentication_failure(error) is expected


def test_a_real_psycopg_invalid_password_counts() -> None:
    psycopg = pytest.importorskip("psycopg")
    assert database.is_authentication_failure(psycopg.errors.InvalidPassword("password authentication failed"))
    assert not database.is_authentication_failure(psycopg.errors.QueryCanceled("canceled"))


def quote_free(text: Any) -> bool:
    """No percent-encoded password either."""
    return "p%40ss" not in str(text) and "n3w%2F" not in str(text)
