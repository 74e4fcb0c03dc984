"""Offline proofs of a retired university's credentials (`senim prove`, `senim verify
--offline`): one the consortium revoked gets no proof, as one its issuer revoked gets
none, whichever ministry proposed the revocation; another says, offline, at which block
the university left; a bundle cut down to hide the revocation is refused.

The officer fixture (tests/cli/test_consortium_revocation_cli.py): KazNU accredited by
the Ministry of Science and retired from block RETIRED_AT.
"""

from __future__ import annotations

import json
from pathlib import Path

from ledger.records import revocation_key
from tests.cli.test_consortium_revocation_cli import RETIRED_AT, Officer, officer, senim
from tests.node.conftest import keys_from

__all__ = ["officer"]  # the fixture, used by name


async def _revoked_by_justice(officer: Officer) -> str:
    """The Ministry of Justice, which granted KazNU nothing, proposes revoking KazNU's
    first diploma; the Ministry of Education's vote approves it. The file's path."""
    fraud = officer.file(officer.kaznu, 0, "fraud")
    proposed = await senim("governance", "revoke", "--key", officer.key("ministry3"), fraud,
                           "--reason", "fraud", "--node", officer.url)
    assert proposed.exit_code == 0, proposed.output
    proposal_id = proposed.output.split("proposal id: ")[1].split(";")[0]
    voted = await senim("governance", "vote", "--key", officer.key("ministry2"), proposal_id,
                        "--node", officer.url)
    assert voted.exit_code == 0, voted.output
    return fraud


async def test_no_proof_of_a_credential_the_consortium_revoked(officer: Officer) -> None:
    fraud = await _revoked_by_justice(officer)
    out = officer.folder / "fraud.proved.json"
    for lang, words in (("en", "revoked by the consortium"),
                        ("kk", "Консорциум күшін жойған"), ("ru", "Отозван консорциумом")):
        proved = await senim("prove", fraud, "--out", str(out), "--node", officer.url,
                             "--lang", lang)
        assert proved.exit_code == 1, proved.output
        assert words in proved.output, proved.output
        assert not out.exists()


async def test_offline_a_retired_issuers_credential_says_the_block_it_left(
        officer: Officer, tmp_path: Path) -> None:
    await _revoked_by_justice(officer)
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(officer.chain.genesis.to_json()), encoding="utf-8")
    out = tmp_path / "other.proved.json"
    proved = await senim("prove", officer.file(officer.kaznu, 1, "other"), "--out", str(out),
                         "--node", officer.url)
    assert proved.exit_code == 0, proved.output
    checked = await senim("verify", str(out), "--offline", "--genesis", str(genesis),
                          "--lang", "en")
    assert checked.exit_code == 0, checked.output
    assert f"KazNU left the consortium at height {RETIRED_AT}" in checked.output, checked.output
    said = await senim("verify", str(out), "--offline", "--genesis", str(genesis), "--lang", "kk")
    assert f"«KazNU» консорциумнан {RETIRED_AT}-блокта шықты" in said.output, said.output


async def test_a_bundle_cut_down_to_hide_the_revocation_is_refused(
        officer: Officer, tmp_path: Path) -> None:
    """A proof made before the revocation would not show it (it is as of its block); one
    made after, with the revocation's entry taken out, is refused."""
    fraud = await _revoked_by_justice(officer)
    other = tmp_path / "other.proved.json"
    proved = await senim("prove", officer.file(officer.kaznu, 1, "other"), "--out",
                         str(other), "--node", officer.url)
    assert proved.exit_code == 0, proved.output
    # the other diploma's bundle, moved onto the revoked one: its revocation entry is the
    # other's (absent), and the revoked one's is not there at all
    document = json.loads(Path(fraud).read_text(encoding="utf-8"))
    document["proof"] = json.loads(other.read_text(encoding="utf-8"))["proof"]
    key = revocation_key(keys_from("kaznu").member_id, officer.kaznu.root,
                         officer.kaznu.target_hashes[0]).hex()
    assert all(entry["key"] != key for entry in document["proof"]["entries"])
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(officer.chain.genesis.to_json()), encoding="utf-8")
    checked = await senim("verify", str(forged), "--offline", "--genesis", str(genesis),
                          "--json")
    assert checked.exit_code != 0, checked.output
    assert json.loads(checked.output)["status"] != "valid"
