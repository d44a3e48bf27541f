"""Key scopes, hashed keys, rotation and signed profile tokens (CONTRACT §6 v1.1, issue 13 part 4)."""
from __future__ import annotations

import hashlib
import time

import jwt
import pytest
from fastapi.testclient import TestClient

from functions.app import create_app
from streamloop.core.settings import Settings
from streamloop.core.store.sqlite import SQLiteStore

SECRET = "login-service-signing-secret-of-32-bytes!"


def _client(tmp_path, **settings) -> tuple[TestClient, SQLiteStore]:
    store = SQLiteStore(tmp_path / "online.sqlite")
    store.put("profile", "p1", {"account_id": "a1", "maturity_rating": "18+", "country": "US"})
    store.put("profile", "p2", {"account_id": "a2", "maturity_rating": "18+", "country": "US"})
    config = Settings(home=tmp_path, **settings)
    from functions.services import Services

    return TestClient(create_app(services=Services(config, store=store))), store


def _token(sub: str, expires_in: float = 300, **claims) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + expires_in), **claims}, SECRET, algorithm="HS256")


def test_app_key_reads_pages_but_gets_403_on_admin_routes(tmp_path):
    client, _ = _client(tmp_path, api_keys="app-key", admin_keys="admin-key")
    assert client.get("/v1/profiles/p1/home", headers={"x-api-key": "app-key"}).status_code == 200
    response = client.post("/v1/admin/privacy/forget", json={"profile_id": "p1"}, headers={"x-api-key": "app-key"})
    assert response.status_code == 403
    assert "admin key" in response.json()["error"]
    assert client.post("/v1/admin/privacy/forget", json={"profile_id": "p1"}).status_code == 401
    assert client.post("/v1/admin/privacy/forget", json={"profile_id": "p1"},
                       headers={"x-api-key": "nope"}).status_code == 401


def test_admin_key_is_also_an_app_key(tmp_path):
    client, _ = _client(tmp_path, api_keys="app-key", admin_keys="admin-key")
    assert client.get("/v1/profiles/p1/home", headers={"x-api-key": "admin-key"}).status_code == 200


def test_keys_configured_as_sha256_hashes_authenticate_the_raw_key(tmp_path):
    digest = hashlib.sha256(b"app-key").hexdigest()
    client, _ = _client(tmp_path, api_keys=f"sha256:{digest}")
    assert client.get("/v1/profiles/p1/home", headers={"x-api-key": "app-key"}).status_code == 200
    # the hash itself is not a key
    assert client.get("/v1/profiles/p1/home", headers={"x-api-key": f"sha256:{digest}"}).status_code == 401


def test_rotation_by_overlapping_keys(tmp_path):
    # GIVEN old and new keys side by side, both work; WHEN the old one is dropped, only the new one does
    both, _ = _client(tmp_path / "a", api_keys="old-key,new-key")
    for key in ("old-key", "new-key"):
        assert both.get("/v1/profiles/p1/home", headers={"x-api-key": key}).status_code == 200
    rotated, _ = _client(tmp_path / "b", api_keys="new-key")
    assert rotated.get("/v1/profiles/p1/home", headers={"x-api-key": "old-key"}).status_code == 401
    assert rotated.get("/v1/profiles/p1/home", headers={"x-api-key": "new-key"}).status_code == 200


@pytest.mark.parametrize("route", ["home", "recommendations", "messages"])
def test_profile_tokens_let_an_account_read_only_its_own_profiles(tmp_path, route):
    client, _ = _client(tmp_path, api_keys="app-key", profile_token_secret=SECRET)
    key = {"x-api-key": "app-key"}

    def get(profile, token=None):
        headers = key | ({"authorization": f"Bearer {token}"} if token else {})
        return client.get(f"/v1/profiles/{profile}/{route}", headers=headers)

    assert get("p1", _token("a1")).status_code == 200                      # valid, own profile
    assert get("p2", _token("a1")).status_code == 403                      # another account's profile
    missing = get("p1")
    assert missing.status_code == 401 and "missing profile token" in missing.json()["error"]
    expired = get("p1", _token("a1", expires_in=-120))
    assert expired.status_code == 401 and "expired" in expired.json()["error"]
    forged = jwt.encode({"sub": "a1", "exp": int(time.time()) + 60}, "another-secret-of-32-bytes-length!!",
                        algorithm="HS256")
    assert get("p1", forged).status_code == 401
    # a profile the store does not know yet: only the token's own profiles claim vouches for it
    assert get("p9", _token("a1")).status_code == 403
    assert get("p9", _token("a1", profiles=["p9"])).status_code == 200


def test_profile_tokens_find_the_owner_of_a_published_profile(tmp_path):
    # GIVEN a publication that wrote its profiles under a generation (ml/publish.py), not as bare keys
    from streamloop.core.store.generations import flip, versioned

    client, store = _client(tmp_path, api_keys="app-key", profile_token_secret=SECRET)
    store.put("profile", versioned("g1", "p3"), {"account_id": "a3", "maturity_rating": "18+", "country": "US"})
    flip(store, warehouse="g1")

    def get(token):
        return client.get("/v1/profiles/p3/home", headers={"x-api-key": "app-key", "authorization": f"Bearer {token}"})

    # THEN its account reads it and another account does not
    assert get(_token("a3")).status_code == 200
    assert get(_token("a1")).status_code == 403


def test_similar_titles_for_a_profile_need_that_profiles_token(tmp_path):
    client, _ = _client(tmp_path, api_keys="app-key", profile_token_secret=SECRET)

    def get(query, token):
        return client.get(f"/v1/titles/m1/similar{query}",
                          headers={"x-api-key": "app-key", "authorization": f"Bearer {token}"})

    # another account's profile in the query is refused before anything is read for it
    assert get("?profile_id=p2", _token("a1")).status_code == 403
    assert get("?profile_id=p1", _token("a1")).status_code != 403
    assert get("", _token("a1")).status_code != 403  # no profile named: the key suffices


def test_without_token_configuration_pages_need_only_the_key(tmp_path):
    client, _ = _client(tmp_path, api_keys="app-key")
    assert client.get("/v1/profiles/p2/home", headers={"x-api-key": "app-key"}).status_code == 200


def test_a_malformed_hashed_key_fails_with_a_clear_message():
    from functions.access import key_digest

    with pytest.raises(ValueError, match="64 hex digits"):
        key_digest("sha256:abcd")
