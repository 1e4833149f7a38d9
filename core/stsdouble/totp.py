"""TOTP as virtual MFA devices compute it (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time

STEP = 30  # seconds per code


def new_secret() -> str:
    """A random base32 secret, as a virtual MFA device is seeded with."""
    return base64.b32encode(os.urandom(20)).decode()


def decode_secret(secret: str) -> bytes:
    """The key bytes of a base32 secret; spaces, case and missing padding are forgiven."""
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int) -> str:
    """RFC 4226: the 6-digit code for one counter value."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def step_at(moment: float) -> int:
    return int(moment // STEP)


def totp(secret: str, at: float | None = None) -> str:
    """The 6-digit code of a base32 TOTP secret at time ``at`` (default: now)."""
    return hotp(decode_secret(secret), step_at(time.time() if at is None else at))
