"""An image given to `senim verify` (the QR code `senim share --qr-png` writes, say) is told
what to do: scan the code and give the link it holds to `senim verify` (the portal: paste
it there), or ask for the file or the link. It was "a picture", and sent the officer to ask
for the .json alone; then to check the link with a phone camera, which opens the portal of
the node the link's maker chose. In kk, ru and en."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.i18n import catalogue as portal_catalogue
from tests.cli.test_verify_document_first import LANGUAGES, genesis_file, senim


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_image_such_as_a_qr_code_is_told_to_be_scanned(tmp_path: Path,
                                                          language: str) -> None:
    image = tmp_path / "qr.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    checked = senim("verify", str(image), "--offline", "--genesis", str(genesis_file(tmp_path)),
                    "--lang", language)
    assert checked.exit_code == 1, checked.output
    assert {"en": "QR code", "kk": "QR-код", "ru": "QR-код"}[language] in checked.output
    assert "picture" not in checked.output
    # to the command that reads the link, not to a camera, which opens the portal of the
    # node the link's maker chose
    assert "`senim verify`" in checked.output, checked.output
    assert PORTAL_PASTE[language] not in checked.output, checked.output


# The portal's own advice: the link is pasted into the page, as a link sent is
PORTAL_PASTE = {"en": "paste the link it holds here", "kk": "ішіндегі сілтемені осында қойыңыз",
                "ru": "вставьте сюда ссылку, которая в нём записана"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_portal_says_to_paste_a_qr_codes_link_into_it(language: str) -> None:
    said = portal_catalogue(language)["status.file_image"]
    assert PORTAL_PASTE[language] in said, said
    assert "senim verify" not in said, said

