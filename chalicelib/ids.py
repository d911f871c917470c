"""Identifiers: time-ordered random ids for things we create, content-derived ids for executions
(so a retried report records the same execution again instead of a second one)."""

from __future__ import annotations

import hashlib
import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 random chars (a ULID in lower-case base32)."""
    millis = int(time.time() * 1000)
    return f"{prefix}_{_b32(millis, 10)}{_b32(int.from_bytes(os.urandom(10), 'big'), 16)}"


def execution_id(project: str, run_id: str, test_case_id: str, attempt: int) -> str:
    digest = hashlib.blake2b(
        "\x1f".join((project, run_id, test_case_id, str(attempt))).encode(), digest_size=12
    ).hexdigest()
    return f"ex_{digest}"
