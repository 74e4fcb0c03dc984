"""`senim governance list` of a validator's key rotation and of an open proposal for a
rules version the node's release does not know. A rotation's set named the same members
as the one before, so it read as a change that changed nothing; the unknown version was
said like any other until approved."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import RotateKeyPayload, RulesVersionAction
from ledger.rules_version import MAX_KNOWN_RULES_VERSION
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, make_council, proposal
from tests.node.test_governance_cli import _ChainClient, chain_client, council

__all__ = ["chain_client", "council"]  # the fixtures, used by name

ROTATED = {
    "en": "Validators from height {h}: {names}; key rotation: Ministry of Science {old}… → "
          "{new}….",
    "kk": "{h}-блоктан бастап валидаторлар: {names}; кілт ауыстыру: Ministry of Science "
          "{old}… → {new}….",
    "ru": "Валидаторы с блока {h}: {names}; смена ключа: Ministry of Science {old}… → {new}….",
}
UPGRADE = {
    "en": "  upgrade needed: this node's release knows rules up to version {known}, not "
          "{version}; once this proposal is approved, it stops before block 30 unless "
          "upgraded by then.",
    "kk": "  жаңарту қажет: бұл түйіннің шығарылымы ережелерді {version}-нұсқаны емес, "
          "{known}-нұсқаға дейін ғана біледі; ұсыныс мақұлданса, түйін жаңартылмаған "
          "жағдайда 30-блоктың алдында тоқтайды.",
    "ru": "  требуется обновление: выпуск этого узла знает правила до версии {known}, а не "
          "{version}; если предложение будет одобрено, узел без обновления остановится "
          "перед блоком 30.",
}


def _listed(language: str) -> str:
    done = CliRunner().invoke(main, ["governance", "list", "--lang", language])
    assert done.exit_code == 0, done.output
    return done.output


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_a_rotation_is_said_as_one(council: Council, chain_client: type[_ChainClient],
                                   language: str) -> None:
    chain = chain_client.chain
    new = KeyPair.from_seed(KeyPair.generate().seed, council.ministry.member_id)
    proof = prove_possession(new, chain.chain_id, council.ministry.member_id)
    commit(chain, [make_tx(council.ministry, RotateKeyPayload(new.public_key, proof))])
    shown = _listed(language)
    rotated = [line for line in shown.splitlines() if "→" in line]
    assert len(rotated) == 1, shown  # the genesis set, listed first, is said as before
    head, tail = ROTATED[language].split("{names}")
    switch = chain.height + 2  # the new key certifies two blocks after its rotation's
    assert rotated[0].startswith(head.format(h=switch)), shown
    said = tail.format(old=council.ministry.public_key.hex()[:8], new=new.public_key.hex()[:8])
    assert rotated[0].endswith(said), shown
    assert "Ministry of Science" in rotated[0].removesuffix(said)  # among the names, too


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_an_open_proposal_of_an_unknown_version_says_upgrade(
        council: Council, chain_client: type[_ChainClient], language: str) -> None:
    unknown = MAX_KNOWN_RULES_VERSION + 1
    commit(chain_client.chain, [proposal(council.ministry, RulesVersionAction(unknown), 30,
                                         28)])
    shown = _listed(language)
    said = UPGRADE[language].format(known=MAX_KNOWN_RULES_VERSION, version=unknown)
    assert said in shown.splitlines(), shown


# A chain a version behind this release: the only way a version it knows is still ahead.
@pytest.mark.parametrize("council", [make_council(rules_version=MAX_KNOWN_RULES_VERSION - 1)])
def test_an_open_proposal_of_a_known_version_says_nothing_more(
        council: Council, chain_client: type[_ChainClient]) -> None:
    commit(chain_client.chain, [proposal(council.ministry,
                                         RulesVersionAction(MAX_KNOWN_RULES_VERSION), 30, 28)])
    assert "upgrade needed" not in _listed("en")
