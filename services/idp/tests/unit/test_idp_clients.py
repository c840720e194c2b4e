"""Machine clients made the way `stratus client create` makes them (stratus_common.clients, on the accounts table)
get tokens from the idp, and a revoked one no longer does."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from stratus_common import clients

if TYPE_CHECKING:
    from conftest import Cloud
    from fastapi.testclient import TestClient


def test_a_revoked_client_gets_no_more_tokens(cloud: Cloud, client: TestClient) -> None:
    table = cloud.tables["accounts"]
    created = clients.create_client(cloud.dynamodb, table, "nightly-job", scopes=["api"])
    basic = {"authorization": "Basic " + base64.b64encode(f"nightly-job:{created.secret}".encode()).decode()}
    granted = client.post("/token", data={"grant_type": "client_credentials"}, headers=basic)
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "api"
    # WHEN the client is revoked
    clients.revoke_client(cloud.dynamodb, table, "nightly-job")
    # THEN its secret is refused, by Basic and in the body alike
    refused = client.post("/token", data={"grant_type": "client_credentials"}, headers=basic)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    body = {"grant_type": "client_credentials", "client_id": "nightly-job", "client_secret": created.secret}
    assert client.post("/token", data=body).status_code == 401
