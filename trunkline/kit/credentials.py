"""Secrets: API token format and hashing, console-user passwords.

Tokens look like `tl_<36 base62 chars><6-char checksum>`: the fixed prefix lets
secret scanners find leaked keys and the CRC32 checksum lets
us reject mistyped or made-up tokens without a database read. Tokens are random
and long, so a fast SHA-256 is the right hash at rest; passwords are not, so they
get argon2.
"""

import base64
import binascii
import hashlib
import secrets
import string
import zlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIX = "tl_"
_ALPHABET = string.digits + string.ascii_letters
_BODY = 36
_CHECK = 6


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def new_token() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY))
    return PREFIX + body + _base62(zlib.crc32(body.encode()), _CHECK)


def looks_valid(token: str) -> bool:
    """Shape and checksum only; says nothing about whether the token exists."""
    if len(token) != len(PREFIX) + _BODY + _CHECK or not token.startswith(PREFIX):
        return False
    body, check = token[len(PREFIX) : -_CHECK], token[-_CHECK:]
    return all(c in _ALPHABET for c in body) and _base62(zlib.crc32(body.encode()), _CHECK) == check


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_hint(token: str) -> str:
    """What lists show instead of the secret: enough to tell tokens apart."""
    return token[:7] + "…" + token[-4:]


class Passwords:
    """argon2id hashing; `fast` trades strength for speed and is meant for tests only."""

    def __init__(self, fast: bool = False) -> None:
        self._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1) if fast else PasswordHasher()
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_nobody(self, password: str) -> bool:
        """The work of a real check against no user, so an unknown email answers as slowly as a
        wrong password and cannot be told apart by timing. Always False."""
        self.verify(self._decoy, password)
        return False

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def decode_basic(value: str) -> tuple[str, str] | None:
    """(user, password) from the value of `Authorization: Basic`; None when it is not base64 of
    UTF-8 `user:password`, or the user holds a NUL (no login does, and PostgreSQL text cannot)."""
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep and "\x00" not in user else None
