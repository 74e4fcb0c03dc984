"""HTTPS for the API (status lists are fetched only over https by W3C verifiers).

A node configured with `[vc] https_listen`, `tls_cert` and `tls_key` serves the
same API over TLS on that address too. `senim tls-cert` makes a self-signed
certificate for a testnet.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ledger.errors import ConfigError
from node.config import NodeConfig
from node.files import SECRET_FILE_BYTES_MAX, UnfitFile, read_bounded, refuse_unsafe_secret

CERT_VALID_DAYS = 365


def make_self_signed(cert_path: Path, key_path: Path, hosts: list[str],
                     now: datetime.datetime) -> None:
    """An ECDSA P-256 certificate for `hosts` (names or IPs); the key file is 0600."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """The TLS context of the certificate chain and key in these files, each read once, as
    every file a node reads at start is (a regular file within its limit), the key's mode,
    owner and folders checked: OpenSSL loads the very bytes that were checked."""
    read: dict[str, bytes] = {}
    missing: list[tuple[str, Path]] = []
    for field, path in (("vc.tls_cert", cert_path), ("vc.tls_key", key_path)):
        try:
            found = read_bounded(path, SECRET_FILE_BYTES_MAX, "TLS file")
        except FileNotFoundError:
            missing.append((field, path))  # said once both are tried: a key's looseness first
            continue
        except (OSError, UnfitFile) as exc:
            raise ConfigError(field, f"cannot read: {exc}") from exc
        if field == "vc.tls_key":
            refuse_unsafe_secret(path, found.status, field, "the key file")
        read[field] = found.data
    if missing:
        field, path = missing[0]
        raise ConfigError(field, f"file not found: {path}")
    _check_pem(read["vc.tls_cert"], read["vc.tls_key"], cert_path, key_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        with _in_memory(read["vc.tls_cert"]) as cert, _in_memory(read["vc.tls_key"]) as key:
            context.load_cert_chain(cert, key, password=_no_passphrase)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("vc.tls_cert", f"cannot load certificate and key from {cert_path} "
                          f"and {key_path}: {exc}") from exc
    return context


def _check_pem(cert: bytes, key: bytes, cert_path: Path, key_path: Path) -> None:
    """Each file holds what its field names, in PEM, or a line says which does not:
    OpenSSL's own word for either was '[SSL] PEM lib (_ssl.c:3905)'."""
    try:
        x509.load_pem_x509_certificates(cert)
    except ValueError as exc:
        raise ConfigError("vc.tls_cert", f"{cert_path} holds no PEM certificate (-----BEGIN "
                          "CERTIFICATE-----): is it the right file?") from exc
    try:
        serialization.load_pem_private_key(key, password=None)
    except TypeError as exc:  # encrypted: no password given
        _no_passphrase(exc)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError("vc.tls_key", f"{key_path} holds no PEM private key (-----BEGIN "
                          "PRIVATE KEY-----) this node can use: is it the right file?") from exc


def _no_passphrase(cause: Exception | None = None) -> bytes:
    # Without a callback OpenSSL asks for an encrypted key's passphrase on the terminal,
    # and a daemon waits there with no one to answer.
    raise ConfigError("vc.tls_key", "the key is encrypted with a passphrase, which a node "
                      "cannot ask for: give it the key unencrypted (its file 0600), e.g. "
                      "openssl pkey -in KEY -out KEY.plain") from cause


@contextlib.contextmanager
def _in_memory(data: bytes) -> Iterator[str]:
    """A path OpenSSL can open (it loads a certificate chain only from a path) that names
    these bytes and nothing another user can change: an anonymous file in memory
    (memfd_create), open in this process alone, gone when closed. Opened by path again,
    the files checked could have been swapped after their check; a copy in a private
    temporary file would put the key on a disk, and leave it there after a kill -9.
    (The node runs on Linux only: /proc is read elsewhere too, node.orphan_guard.)"""
    fd = os.memfd_create("senim-tls", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:  # bounded: each write takes at least one byte, or raises
            view = view[os.write(fd, view):]
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


async def serve_https(runner: web.AppRunner, config: NodeConfig) -> web.TCPSite | None:
    """Start the HTTPS listener when the config asks for one."""
    if config.vc_https is None or config.vc_tls_cert is None or config.vc_tls_key is None:
        return None
    context = server_context(config.vc_tls_cert, config.vc_tls_key)
    site = web.TCPSite(runner, config.vc_https.host, config.vc_https.port, ssl_context=context,
                       reuse_address=True)
    await site.start()
    return site
