"""An image given to `senim verify` (the QR code `senim share --qr-png` writes, say) is told
what to do: scan the code and check the link it holds, or ask for the file or the link. It
was "a picture", and sent the officer to ask for the .json alone, in kk, ru and en."""

from __future__ import annotations

from pathlib import Path

import pytest

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

