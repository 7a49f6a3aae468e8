"""Secrets the product must use again later (an SMSC's password, a webhook's signing secret),
encrypted at rest with the server key. Secrets it only verifies (tokens, passwords) are hashed
instead (kit.credentials).

Fernet (cryptography): AES-128-CBC with an HMAC-SHA256, versioned and timestamped; a
well-kept primitive, so nothing here is cryptography of our own. The key is
`TRUNKLINE_SECRET_KEY` (several, comma-separated, while rotating: the first encrypts, any
decrypts), or else `secret.key` in the data directory, generated on first use. Every server
sharing a database must share the key: set it explicitly beyond one machine.
"""

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE = "secret.key"


class SecretUnreadable(Exception):
    """A stored secret the server key cannot open (the key was changed without keeping the old one)."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("a stored secret cannot be decrypted with the server key (TRUNKLINE_SECRET_KEY)") from exc


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
