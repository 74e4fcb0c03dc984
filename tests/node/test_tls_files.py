"""The TLS certificate and key are read once, checked, and loaded from the bytes read:
OpenSSL opened both paths again after their check, so a file swapped in between (by
whoever could write there) was loaded unchecked. An encrypted key is refused with a line
rather than a passphrase prompt no one answers."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import node.tls
from ledger.errors import ConfigError
from node.tls import make_self_signed, server_context
from storage.bounded_read import FileRead, read_bounded

NOW = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)


def pair(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(mode=0o700)
    make_self_signed(folder / "node.crt", folder / "node.key", ["127.0.0.1"], NOW)
    return folder / "node.crt", folder / "node.key"


def test_a_key_swapped_after_its_check_is_not_what_is_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the key is read (and checked), another key is put in its place: the context is
    still made of the pair that was read. Before, OpenSSL read the swapped key, which did
    not match the certificate ('key values mismatch'): it could as well have been a key
    of someone else's choosing, in a file never checked."""
    cert, key = pair(tmp_path / "ours")
    _, other_key = pair(tmp_path / "theirs")

    def swapped_after(path: Path, limit: int, what: str) -> FileRead:
        read = read_bounded(path, limit, what)
        if path == key:
            key.write_bytes(other_key.read_bytes())
        return read

    monkeypatch.setattr(node.tls, "read_bounded", swapped_after)
    server_context(cert, key)


def test_an_encrypted_key_is_refused_with_a_line(tmp_path: Path) -> None:
    cert, key = pair(tmp_path / "tls")
    loaded = serialization.load_pem_private_key(key.read_bytes(), None)
    key.write_bytes(loaded.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(ConfigError) as refused:
        server_context(cert, key)
    assert str(refused.value).startswith(
        "vc.tls_key: the key is encrypted with a passphrase, which a node cannot ask for")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    cert, key = pair(tmp_path / "tls")
    key.unlink()
    with pytest.raises(ConfigError) as refused:
        server_context(cert, key)
    assert str(refused.value) == f"vc.tls_key: file not found: {key}"


@pytest.mark.parametrize("which", ["cert", "key"])
def test_a_file_that_is_no_pem_of_its_kind_is_named(tmp_path: Path, which: str) -> None:
    """OpenSSL said '[SSL] PEM lib (_ssl.c:3905)' of either, naming neither."""
    cert, key = pair(tmp_path / "tls")
    (cert if which == "cert" else key).write_text("not a certificate\n")
    with pytest.raises(ConfigError) as refused:
        server_context(cert, key)
    assert str(refused.value) == (
        f"vc.tls_cert: {cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----): is it "
        "the right file?" if which == "cert" else
        f"vc.tls_key: {key} holds no PEM private key (-----BEGIN PRIVATE KEY-----) this node "
        "can use: is it the right file?")


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    cert, _ = pair(tmp_path / "ours")
    _, other_key = pair(tmp_path / "theirs")
    with pytest.raises(ConfigError, match="key values mismatch"):
        server_context(cert, other_key)
