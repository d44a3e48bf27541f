"""Who may call what: app and admin API keys (raw or `sha256:<hex>`), and signed profile tokens.

- App keys (STREAMLOOP_API_KEYS) send events and read pages; admin keys (STREAMLOOP_ADMIN_KEYS) may also
  call `/v1/admin/*`. An app key on an admin route is 403, no key or an unknown key 401 (CONTRACT §6).
- A key may be configured as `sha256:<hex>` so no raw key sits in configuration. Every configured key is
  held as its SHA-256 digest and the presented key is hashed once, then compared with every digest in
  constant time: the comparison's timing says nothing about which key, or how much of one, matched.
- Rotation: configure the old and the new key side by side, ship apps with the new one, then drop the old
  (docs/privacy.md "Keys").
- Profile tokens (when STREAMLOOP_PROFILE_TOKEN_SECRET or _PUBLIC_KEY is set): page and recommendation
  reads also need `Authorization: Bearer <JWT>` issued by the service's own login and verified with its key
  (PyJWT). Subject = the account that owns the profile. A key copied out of an app then reads nobody's
  viewing without that person's token. The profile belongs to the subject when the online store's profile
  value says so, or when the token lists it in its `profiles` claim (a profile created since the last
  publication, which the store does not know yet).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import jwt

HASH_PREFIX = "sha256:"


class AccessDenied(Exception):
    """Authenticated but not allowed (HTTP 403), or not authenticated (401) when `status` says so."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def key_digest(configured: str) -> bytes:
    """The SHA-256 digest of a configured key: `sha256:<hex>` as given, a raw key hashed."""
    configured = configured.strip()
    if configured.lower().startswith(HASH_PREFIX):
        hex_digest = configured[len(HASH_PREFIX):]
        try:
            digest = bytes.fromhex(hex_digest)
        except ValueError:
            raise ValueError(f"configured key {configured[:12]}…: not a sha256:<64 hex digits> value") from None
        if len(digest) != 32:
            raise ValueError(f"configured key {configured[:12]}…: a sha256 digest has 64 hex digits")
        return digest
    return hashlib.sha256(configured.encode()).digest()


def _matches(presented: bytes, digests: tuple[bytes, ...]) -> bool:
    found = False
    for digest in digests:  # every digest is compared: no early exit
        found |= hmac.compare_digest(presented, digest)
    return found


@dataclass(frozen=True)
class KeyRing:
    app: tuple[bytes, ...]
    admin: tuple[bytes, ...]

    @classmethod
    def from_config(cls, app_keys: list[str], admin_keys: list[str]) -> KeyRing:
        return cls(tuple(key_digest(k) for k in app_keys), tuple(key_digest(k) for k in admin_keys))

    @property
    def configured(self) -> bool:
        return bool(self.app or self.admin)

    def scope_of(self, presented: str) -> str | None:
        """'admin', 'app' or None for a presented raw key."""
        digest = hashlib.sha256(presented.encode()).digest()
        is_admin = _matches(digest, self.admin)
        is_app = _matches(digest, self.app)
        return "admin" if is_admin else "app" if is_app else None


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies profile tokens: signature, expiry (with `leeway_s`), optional issuer and audience."""

    key: str
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    leeway_s: int = 30

    def account_of(self, authorization: str | None) -> tuple[str, frozenset[str]]:
        """(account id, profile ids the token lists) from an `Authorization: Bearer` header, or AccessDenied 401."""
        if not authorization or authorization[:7].lower() != "bearer ":
            raise AccessDenied(401, "missing profile token: send Authorization: Bearer <token> from your login")
        options = {"require": ["exp", "sub"]}
        try:
            claims = jwt.decode(authorization[7:].strip(), self.key, algorithms=list(self.algorithms),
                                issuer=self.issuer, audience=self.audience, leeway=self.leeway_s, options=options)
        except jwt.ExpiredSignatureError:
            raise AccessDenied(401, "profile token expired: sign in again") from None
        except jwt.InvalidTokenError as exc:
            raise AccessDenied(401, f"invalid profile token: {exc}") from None
        profiles = claims.get("profiles") or []
        if not isinstance(profiles, list):
            raise AccessDenied(401, "invalid profile token: the profiles claim must be a list")
        return str(claims["sub"]), frozenset(str(p) for p in profiles)


def check_profile_owner(account_id: str, listed_profiles: frozenset[str], profile_id: str,
                        owner_account_id: str | None) -> None:
    """Raises AccessDenied(403) unless the token's account owns `profile_id`."""
    if owner_account_id is not None:
        if owner_account_id != account_id:
            raise AccessDenied(403, "this profile belongs to another account")
        return
    if profile_id not in listed_profiles:
        raise AccessDenied(403, "cannot confirm this profile belongs to the token's account "
                                "(not published yet and not in the token's profiles claim)")
