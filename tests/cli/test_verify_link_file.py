"""`senim verify FILE` where FILE holds a link from `senim share` or the holder's page, not
the credential: the link saved to a text file, or the letter it came in saved whole. The
file was checked as an anchored document, and a genuine diploma's link was said to be "no
record of this file on the Senim chain" (exit 1). The link in it is read as the link given
as an argument is, and its document checked against the reader's node."""

from __future__ import annotations

import json
from pathlib import Path

from cli.sharing import share_link
from tests.cli.test_verify_across_set_changes import net, node_url, senim, verdict_of

__all__ = ["net", "node_url"]  # the fixtures: a node holding one diploma

HOSTILE = "http://127.0.0.9:1"  # the node the link opens; never asked


async def test_a_file_holding_a_link_is_checked_as_the_link(node_url: str,
                                                            tmp_path: Path) -> None:
    diploma = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    link = share_link(diploma, HOSTILE, compressed=True)
    saved, letter = tmp_path / "link.txt", tmp_path / "letter.txt"
    saved.write_text(link + "\n", "utf-8")
    letter.write_text(f"Здравствуйте! Мой диплом:\n{link}\n\nС уважением,\nАнна\n", "utf-8")
    notepad = tmp_path / "notepad.txt"  # saved as Notepad's "Unicode"
    notepad.write_text(link, "utf-16")
    genesis = str(tmp_path / "genesis.json")
    for path in (saved, letter, notepad):
        judged = await senim("verify", str(path), "--node", node_url, "--genesis", genesis,
                             "--json")
        assert judged.exit_code == 0, judged.output
        verdict = verdict_of(judged)
        assert verdict["valid"] and verdict["file"] == f"the document in a link to {HOSTILE}"
        said = await senim("verify", str(path), "--node", node_url, "--lang", "ru")
        assert said.exit_code == 0 and said.output.startswith("Подлинный диплом"), said.output
    # A letter with no link in it is still a file checked as an anchored document.
    plain = tmp_path / "plain.txt"
    plain.write_text("Здравствуйте! Диплом во вложении.\n", "utf-8")
    judged = await senim("verify", str(plain), "--node", node_url, "--json")
    assert judged.exit_code == 1 and verdict_of(judged)["status"] == "unknown", judged.output


async def test_a_credential_naming_a_link_in_a_field_is_checked_as_itself(
        node_url: str, tmp_path: Path) -> None:
    """A credential file is JSON: whatever text its fields hold, it is checked itself."""
    diploma = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    other = share_link({"format": "x"}, HOSTILE)
    diploma["note"] = other  # outside the fields: no part of what the issuer signed
    path = tmp_path / "noted.json"
    path.write_text(json.dumps(diploma), "utf-8")
    judged = await senim("verify", str(path), "--node", node_url, "--json")
    assert judged.exit_code == 0, judged.output
    assert verdict_of(judged)["file"] == str(path)
