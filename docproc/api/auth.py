"""API keys: `Authorization: Bearer <key>`. Keys are kept only as SHA-256 digests (they are long
random tokens, so a fast hash is enough) and compared in constant time. A job belongs to the
key that created it; its owner id is a digest prefix, never the key."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyStore:
    def __init__(self, keys: list[str]):
        self._digests = [_digest(k) for k in keys if k]

    def __len__(self) -> int:
        return len(self._digests)

    def owner_of(self, key: str) -> str | None:
        """The owner id of a valid key, else None (every digest compared: no early exit)."""
        d = _digest(key)
        found = None
        for known in self._digests:
            if hmac.compare_digest(known, d):
                found = known
        return found.hex()[:24] if found is not None else None


_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def bearer_owner(request: Request) -> str:
    """FastAPI dependency: the caller's owner id, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    store: KeyStore = request.app.state.keys
    owner = store.owner_of(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
    if owner is None:
        raise HTTPException(status_code=401, detail="missing or invalid API key", headers=_UNAUTHORIZED)
    return owner
