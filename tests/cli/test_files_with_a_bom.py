"""A credential file saved with a UTF-8 byte order mark (Windows Notepad, PowerShell's
`Out-File -Encoding UTF8`) is still that credential: the commands that read one read it
as the node and the portal do, not as some other document that no chain records; and one
cut short is called damaged, as the portal calls it, not a document no chain records."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import test_verify_across_set_changes as set_changes
from tests.cli.test_verify_across_set_changes import senim, verdict_of

net, node_url = set_changes.net, set_changes.node_url  # the fixtures: a node and a diploma
BOM = b"\xef\xbb\xbf"


async def test_a_credential_with_a_bom_verifies_online_and_offline(node_url: str,
                                                                   tmp_path: Path) -> None:
    with_bom = tmp_path / "diploma-bom.json"
    with_bom.write_bytes(BOM + (tmp_path / "diploma.json").read_bytes())
    genesis = str(tmp_path / "genesis.json")
    online = await senim("verify", str(with_bom), "--node", node_url, "--genesis", genesis,
                         "--json")
    assert online.exit_code == 0, online.output
    assert verdict_of(online)["status"] == "valid"

    proved = tmp_path / "proved.json"
    made = await senim("prove", str(with_bom), "--out", str(proved), "--node", node_url)
    assert made.exit_code == 0, made.output
    proved.write_bytes(BOM + proved.read_bytes())
    offline = await senim("verify", str(proved), "--offline", "--genesis", genesis, "--json")
    assert offline.exit_code == 0, offline.output

    shown = tmp_path / "shown.json"
    hidden = await senim("disclose", str(with_bom), "--hide", "gpa", "--out", str(shown))
    assert hidden.exit_code == 0, hidden.output
    assert "hash" in json.loads(shown.read_text(encoding="utf-8"))["fields"]["gpa"]
    shared = await senim("share", str(with_bom), "--node", node_url)
    assert shared.exit_code == 0 and "/#doc" in shared.output, shared.output


async def test_a_credential_cut_short_is_called_damaged_not_unknown(node_url: str,
                                                                     tmp_path: Path) -> None:
    whole = (tmp_path / "diploma.json").read_bytes()
    cut = tmp_path / "diploma-cut.json"
    cut.write_bytes(whole[: len(whole) // 2])  # a download or a copy that stopped halfway
    genesis = str(tmp_path / "genesis.json")
    for extra in ([], ["--genesis", genesis]):
        result = await senim("verify", str(cut), "--node", node_url, "--json", *extra)
        assert result.exit_code == 1, result.output
        verdict = verdict_of(result)
        assert verdict["status"] == "malformed"
        assert "cut short or damaged" in verdict["reason"]
    offline = await senim("verify", str(cut), "--offline", "--genesis", genesis, "--json")
    assert offline.exit_code == 1 and verdict_of(offline)["status"] == "malformed"
    # A file that is no credential is still looked up as an anchored document.
    other = tmp_path / "letter.txt"
    other.write_bytes(b"{ a letter that is not JSON")
    looked_up = await senim("verify", str(other), "--node", node_url, "--json")
    assert looked_up.exit_code == 1 and verdict_of(looked_up)["status"] == "unknown"
