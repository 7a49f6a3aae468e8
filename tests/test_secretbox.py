"""Secrets kept to be used again are sealed with the server key: never stored as given, opened
only with a key the server holds, and the key survives restarts and key rotation."""

import os
import stat

import pytest
from cryptography.fernet import Fernet

from trunkline.kit.secretbox import KEY_FILE, SecretUnreadable, server_box


def test_the_key_is_generated_once_into_the_data_dir_private(tmp_path):
    box = server_box(None, tmp_path / "data")
    sealed = box.seal("smsc-password")
    assert "smsc-password" not in sealed
    assert stat.S_IMODE(os.stat(tmp_path / "data" / KEY_FILE).st_mode) == 0o600
    assert server_box(None, tmp_path / "data").open(sealed) == "smsc-password"  # the next start reads the same key
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == [KEY_FILE]


def test_a_configured_key_wins_and_rotation_keeps_old_secrets_readable(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = server_box(old, tmp_path).seal("webhook-secret")
    assert not (tmp_path / KEY_FILE).exists()
    assert server_box(f"{new},{old}", tmp_path).open(sealed) == "webhook-secret"
    with pytest.raises(SecretUnreadable):
        server_box(new, tmp_path).open(sealed)


def test_digests_need_the_key_and_survive_rotation(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    digest = server_box(old, tmp_path).digest("v1:123456")
    assert "123456" not in digest and len(digest) == 64
    assert digest != server_box(new, tmp_path).digest("v1:123456")  # a table alone does not give the codes up
    rotated = server_box(f"{new},{old}", tmp_path)
    assert rotated.matches("v1:123456", digest) and not rotated.matches("v1:123457", digest)
    assert not server_box(new, tmp_path).matches("v1:123456", digest)
