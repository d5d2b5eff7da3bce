"""Password hashes for the staff console (hashlib scrypt; PBKDF2 accepted too).

Format: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` or
``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``. Create one with
``python -m hotline hash-password`` and put it in ``STAFF_PASSWORD_HASH``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PBKDF2_MIN_ITERATIONS = 100_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_hash_format(encoded: str) -> None:
    """Raise ``ValueError`` with a clear message when ``encoded`` is not a usable hash."""
    parts = (encoded or "").strip().split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            if n < 2**14 or n & (n - 1) or r < 1 or p < 1:
                raise ValueError("scrypt parameters too weak or invalid")
            _unb64(parts[4]), _unb64(parts[5])
            return
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            if int(parts[1]) < PBKDF2_MIN_ITERATIONS:
                raise ValueError(f"PBKDF2 needs at least {PBKDF2_MIN_ITERATIONS} iterations")
            _unb64(parts[2]), _unb64(parts[3])
            return
    except (ValueError, TypeError) as exc:
        raise ValueError(f"STAFF_PASSWORD_HASH is not a valid hash: {exc}") from exc
    raise ValueError("STAFF_PASSWORD_HASH must look like scrypt$… or pbkdf2_sha256$… "
                     "(create one with: python -m hotline hash-password)")


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded`` (constant-time comparison)."""
    try:
        check_hash_format(encoded)
    except ValueError:
        return False
    parts = encoded.strip().split("$")
    data = (password or "").encode("utf-8")
    if parts[0] == "scrypt":
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        expected = _unb64(parts[5])
        actual = hashlib.scrypt(data, salt=_unb64(parts[4]), n=n, r=r, p=p, dklen=len(expected),
                                maxmem=128 * r * n * 2 + 1024 * 1024)
    else:
        expected = _unb64(parts[3])
        actual = hashlib.pbkdf2_hmac("sha256", data, _unb64(parts[2]), int(parts[1]), dklen=len(expected))
    return hmac.compare_digest(actual, expected)
