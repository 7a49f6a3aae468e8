"""Secrets the product must use again later (an SMSC's password, a webhook's signing secret),
encrypted at rest with the server key. Secrets it only verifies (tokens, passwords) are hashed
instead (kit.credentials); short ones a stolen table would give up to brute force (a six-digit
passcode) get a keyed digest here, which is useless without the server key.

Fernet (cryptography): AES-128-CBC with an HMAC-SHA256, versioned and timestamped; a
well-kept primitive, so nothing here is cryptography of our own. The key is
`TRUNKLINE_SECRET_KEY` (several, comma-separated, while rotating: the first encrypts, any
decrypts), or else `secret.key` in the data directory, generated on first use. Every server
sharing a database must share the key: set it explicitly beyond one machine.
"""

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "secret.key"


class SecretUnreadable(Exception):
    """A stored secret the server key cannot open (the key was changed without keeping the old one)."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        self._digest_keys = [_digest_key(key.strip()) for key in keys]

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("a stored secret cannot be decrypted with the server key (TRUNKLINE_SECRET_KEY)") from exc

    def digest(self, secret: str) -> str:
        """HMAC-SHA256 of `secret` under the first key, hex."""
        return hmac.new(self._digest_keys[0], secret.encode(), hashlib.sha256).hexdigest()

    def matches(self, secret: str, digest: str) -> bool:
        """Whether `digest` is `secret`'s under any key, compared in constant time."""
        found = False
        for key in self._digest_keys:  # every key, always: the time taken says nothing about which matched
            found |= hmac.compare_digest(hmac.new(key, secret.encode(), hashlib.sha256).hexdigest(), digest)
        return found


def _digest_key(key: str) -> bytes:
    """A key for digests derived from a Fernet key, so no key serves two purposes."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"trunkline digest").derive(base64.urlsafe_b64decode(key))


def server_box(configured: str | None, data_dir: Path) -> SecretBox:
    """The box of `configured` keys (comma-separated), or of the data directory's key file,
    created (0600) on first use."""
    if configured:
        return SecretBox([key for key in configured.split(",") if key.strip()])
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}"
        draft.unlink(missing_ok=True)
        with os.fdopen(os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w") as file:
            file.write(Fernet.generate_key().decode() + "\n")
        try:
            os.link(draft, path)  # whole or not at all: a worker starting beside us reads a complete key
        except FileExistsError:  # another worker made it first: use theirs
            pass
        finally:
            draft.unlink()
    return SecretBox([path.read_text().strip()])
