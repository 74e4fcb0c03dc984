"""`senim share`: a verification link (and QR code) that opens a node's portal.

The document (a Senim credential, or a W3C VC) travels in the URL fragment (`#doc=`),
which browsers never send to a server, so it stays out of access logs; the page posts
it to /v1/verify only (a VC to /credentials/verify).
A document from a large batch makes a link too long for a QR code; then the QR
code (and the printed link with it) carries the document deflated (`#docz=`),
which the page inflates with the browser's DecompressionStream.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from pathlib import Path
from typing import Any

import click
import segno

from cli.client import DEFAULT_NODE
from cli.commands import usable_node_url
from cli.language import lang_option
from cli.node_answers import login_in_url
from cli.private_files import write_private
from cli.spoken import Sentence, echo, not_credential, os_reason, refuse, say
from cli.vc import is_vc_document, only_this_machine
from cli.verify_files import load_json_file
from cli.worded_command import WordedCommand
from ledger.credential_documents import parse_document
from ledger.errors import InvalidDocument

# A version-40 QR code holds 2,953 bytes at the lowest error correction; asking for
# medium correction keeps a printed code readable when a little of it is smudged.
QR_ERROR_LEVEL = "m"
QR_SCALE = 4


def share_link(document: Any, node_url: str, compressed: bool = False) -> str:
    """The portal URL with the document, compact JSON in base64url, in the fragment."""
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    key = "doc"
    if compressed:  # raw deflate: what the browser's DecompressionStream('deflate-raw') reads
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        data, key = packer.compress(data) + packer.flush(), "docz"
    payload = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    return f"{node_url.rstrip('/')}/#{key}={payload}"


def _make_qr(document: Any, node_url: str) -> tuple[str, segno.QRCode]:
    """The plain link if it fits a QR code, else the deflated one."""
    for compressed in (False, True):
        link = share_link(document, node_url, compressed)
        try:
            return link, segno.make(link, error=QR_ERROR_LEVEL, micro=False, boost_error=False)
        except segno.DataOverflowError:
            continue
    raise segno.DataOverflowError(f"{len(link)} characters")


def _qr_bytes(qr: segno.QRCode, kind: str) -> bytes:
    buffer = io.BytesIO()
    qr.save(buffer, kind=kind, scale=QR_SCALE, border=4)
    return buffer.getvalue()


@click.command("share", cls=WordedCommand)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              callback=usable_node_url,
              show_default="$SENIM_NODE or " + DEFAULT_NODE,
              help="The node whose portal the link opens.")
@click.option("--qr-png", "qr_png", type=click.Path(path_type=Path),
              help="Also write the link as a QR code (PNG).")
@click.option("--qr-svg", "qr_svg", type=click.Path(path_type=Path),
              help="Also write the link as a QR code (SVG).")
@lang_option
def share_command(file: Path, node_url: str, qr_png: Path | None, qr_svg: Path | None,
                  language: str) -> None:
    """Print a link that opens a node's portal with FILE already checked.

    Share a copy made with `senim disclose` to hide fields the reader need not see.
    """
    if not node_url.startswith(("http://", "https://")):
        refuse(Sentence("cli.share.node_url", url=repr(node_url)), 2)
    login = login_in_url(node_url)  # in a link handed to others, and its QR code
    if login is not None:
        refuse(login, 2)
    try:
        # In any encoding JSON allows (a credential Notepad saved as "Unicode" is UTF-16),
        # as `senim verify` and the node read it.
        document = load_json_file(file)
    except OSError as exc:
        refuse(Sentence("cli.file.unreadable", None, path=file, why=os_reason(exc)), 2)
    if document is None:
        refuse(Sentence("cli.share.not_json", path=file), 2)
    try:
        # A W3C VC goes as it is: the portal checks it on the node's VC-API.
        if not is_vc_document(document):
            parse_document(document)
    except InvalidDocument as exc:
        refuse(not_credential(file, exc, f"{file} is not a Senim credential: {exc}"), 2)
    link = share_link(document, node_url)
    if qr_png or qr_svg:
        try:
            link, qr = _make_qr(document, node_url)
        except segno.DataOverflowError:
            refuse(Sentence("cli.share.too_long", length=len(link)), 2)
        for path, kind in ((qr_png, "png"), (qr_svg, "svg")):
            if path is not None:
                try:
                    write_private(path, _qr_bytes(qr, kind), replace=True)
                except OSError as exc:
                    refuse(Sentence("cli.file.unwritable", None, path=path,
                                    why=os_reason(exc)), 2)
                echo(Sentence("cli.share.qr", kind=kind.upper(), version=qr.designator,
                              path=path), err=True)
    if only_this_machine(node_url):
        # the default node (127.0.0.1) among them: a link sent on opens nothing elsewhere
        click.secho(say(Sentence("cli.share.local", node=node_url.rstrip("/"))),
                    fg="yellow", err=True)
    click.echo(link)
