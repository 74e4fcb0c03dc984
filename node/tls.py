"""HTTPS for the API (status lists are fetched only over https by W3C verifiers).

A node configured with `[vc] https_listen`, `tls_cert` and `tls_key` serves the
same API over TLS on that address too. `senim tls-cert` makes a self-signed
certificate for a testnet.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from aiohttp import web
from cryptography import x509
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
    # OpenSSL reads both files by path: each is tried first as every file a node reads at
    # start is (a regular file within its limit), so that /dev/zero given as one is
    # refused rather than read by OpenSSL until memory runs out. The try and OpenSSL's
    # read are two opens of one path: a file swapped between them is read untried.
    for field, path in (("vc.tls_cert", cert_path), ("vc.tls_key", key_path)):
        try:
            read = read_bounded(path, SECRET_FILE_BYTES_MAX, "TLS file")
        except FileNotFoundError:
            continue  # said by OpenSSL's load below, as before
        except (OSError, UnfitFile) as exc:
            raise ConfigError(field, f"cannot read: {exc}") from exc
        if field == "vc.tls_key":
            refuse_unsafe_secret(path, read.status, field, "the key file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("vc.tls_cert", f"cannot load certificate and key: {exc}") from exc
    return context


async def serve_https(runner: web.AppRunner, config: NodeConfig) -> web.TCPSite | None:
    """Start the HTTPS listener when the config asks for one."""
    if config.vc_https is None or config.vc_tls_cert is None or config.vc_tls_key is None:
        return None
    context = server_context(config.vc_tls_cert, config.vc_tls_key)
    site = web.TCPSite(runner, config.vc_https.host, config.vc_https.port, ssl_context=context,
                       reuse_address=True)
    await site.start()
    return site
