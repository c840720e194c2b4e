"""The idp's tables, each behind a getter (a new store per request; the DynamoDB client is cached)."""

from __future__ import annotations

from stratus_common.aws import client
from stratus_common.settings import table_name

from idp.accounts import AccountStore
from idp.sessions import RefreshTokens, SessionStore

__all__ = ["get_accounts", "get_refresh_tokens", "get_sessions"]


def get_accounts() -> AccountStore:
    """The accounts table (``ACCOUNTS_TABLE_NAME``)."""
    return AccountStore(client("dynamodb"), table_name("accounts"))


def get_sessions() -> SessionStore:
    """The sessions table (``SESSIONS_TABLE_NAME``)."""
    return SessionStore(client("dynamodb"), table_name("sessions"))


def get_refresh_tokens() -> RefreshTokens:
    """The refresh_tokens table (``REFRESH_TOKENS_TABLE_NAME``) with the sessions table."""
    return RefreshTokens(client("dynamodb"), table_name("refresh_tokens"), get_sessions())
