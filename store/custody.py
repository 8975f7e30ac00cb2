"""The custody chain, pure: each entry's hash covers the one before it, so any edit to an entry
or to their order changes every later hash (`tgsweep verify` recomputes them)."""
from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64



def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(prev_hash: str, seq: int, at: str, action: str, digest: str, url: str, sweep_id: int | None) -> str:
    """The custody chain link: any edit to an entry or its order changes every later hash."""
    body = json.dumps([prev_hash, seq, at, action, digest, url, sweep_id], separators=(",", ":"))
    return sha256(body.encode())
