"""`senim tls-cert`: a self-signed TLS certificate for a testnet node's HTTPS listener, said
in its operator's language (--lang kk|ru|en, or the locale: cli.spoken); English as it
was, exit 2 for each refusal in every language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from cli.errors import EXIT_BAD_INPUT
from cli.language import lang_option
from cli.spoken import Sentence, echo, os_reason, refuse
from cli.worded_command import WordedCommand

DEFAULT_HOSTS = ("127.0.0.1", "localhost")


@click.command("tls-cert", cls=WordedCommand)
@click.option("--cert", "cert_path", required=True, type=click.Path(path_type=Path),
              help="The certificate file to write (PEM).")
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
              help="The private key file to write (PEM, mode 0600).")
@click.option("--host", "hosts", multiple=True, default=list(DEFAULT_HOSTS),
              show_default=True, help="A name or IP the certificate is for (repeatable).")
@lang_option
def tls_cert_command(cert_path: Path, key_path: Path, hosts: tuple[str, ...],
                     language: str) -> None:
    """Make a self-signed TLS certificate for a testnet node's HTTPS listener."""
    from node.tls import make_self_signed

    if key_path.exists() or cert_path.exists():
        refuse(Sentence("tls.exists", f"{key_path} or {cert_path} exists; not overwriting",
                        private=key_path, cert=cert_path), EXIT_BAD_INPUT)
    # The certificate's names are ASCII (a Kazakh name: its punycode), and none holds a
    # space or a control character ("node1, node2" is two --host options, not one name).
    bad = next((host for host in hosts if not host.strip() or not host.isascii()
                or not host.isprintable() or " " in host), None)
    if bad is not None:
        refuse(Sentence("tls.bad_host", f"--host {bad!r} is no name or IP address a "
                        "certificate can hold (ASCII, as DNS writes it: punycode for a name "
                        "in another script)", host=repr(bad)), EXIT_BAD_INPUT)
    try:
        make_self_signed(cert_path, key_path, list(hosts), datetime.now(tz=UTC))
    except ValueError as exc:  # a name the certificate cannot hold (one of 65 characters)
        _forget(key_path, cert_path)
        refuse(Sentence("tls.refused_hosts", f"cannot make a certificate for {', '.join(hosts)}: "
                        f"{exc}", hosts=", ".join(hosts)), EXIT_BAD_INPUT)
    except OSError as exc:
        _forget(key_path, cert_path)
        english = f"cannot write {exc.filename}: {exc.strerror or exc}"
        if isinstance(exc, NotADirectoryError):
            refuse(Sentence("tls.under_a_file", english, path=exc.filename), EXIT_BAD_INPUT)
        refuse(Sentence("tls.unwritable", english, path=exc.filename, why=os_reason(exc)),
               EXIT_BAD_INPUT)
    shown = ", ".join(hosts)
    echo(Sentence("tls.wrote", f"wrote {cert_path} and {key_path} (0600) for {shown}; set "
                  "[vc] https_listen, tls_cert and tls_key in the node's config",
                  cert=cert_path, private=key_path, hosts=shown))


def _forget(key_path: Path, cert_path: Path) -> None:
    """No key without its certificate: the key was made just now (none was there)."""
    if key_path.exists() and not cert_path.exists():
        key_path.unlink()
