"""Who is being forgotten, and the salted hash that names them without holding the raw id."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from streamloop.core.settings import Settings


@dataclass(frozen=True)
class Subject:
    """A person to forget: one profile, or a whole account (household) with every profile in it."""

    kind: Literal["profile", "account"]
    id: str

    def __post_init__(self):
        if self.kind not in ("profile", "account"):
            raise ValueError(f"a subject is a profile or an account, not {self.kind!r}")
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError(f"{self.kind}_id must be a non-empty string")


def privacy_salt(settings: Settings) -> bytes:
    """The suppression list's secret salt: the setting, else a random one created once under HOME."""
    if settings.privacy_salt:
        return settings.privacy_salt.encode()
    path = settings.home_dir / "privacy" / "salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def salted_hash(identifier: str, salt: bytes) -> str:
    """HMAC-SHA256 of an id: equal ids give equal hashes; without the salt nobody can test a guess."""
    return hmac.new(salt, identifier.encode(), hashlib.sha256).hexdigest()
