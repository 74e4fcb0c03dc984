"""A member's own report of a key stolen never sets aside the reports that key made
earlier. A first version of rules version 9 did: a report counted only while the key that
signed it was trusted at its height, so that a member whose current key a thief copied
could undo, on its own, the thief's report of an older key. The hostile review showed the
same rule lifting the distrust an honest report had set: a member rotates from K1 (stolen,
forged with) to K2 and reports K1; K2, made on the same breached machine, is copied at
once; the member reports K2 stolen from its first block, and its own report of K1 fell,
so the thief's K1 forgeries verified as valid again. Nothing on chain tells the two
reports apart, so none is set aside: a thief's report of an older key is undone by a
governance replacement (`replace_key`), which names the theft's height."""

from __future__ import annotations

import pytest

from ledger.key_events import load_key_history
from ledger.payloads import ReportCompromisePayload
from ledger.rules_version import MAX_KNOWN_RULES_VERSION, REPORTS_UNDONE_FROM
from tests.node.conftest import commit, documents_of, make_tx
from tests.node.test_governance_key_replacement import council_chain
from tests.node.test_stolen_key_records import issued_batch, rotated, verdict_of


@pytest.mark.parametrize("version", [REPORTS_UNDONE_FROM, MAX_KNOWN_RULES_VERSION])
def test_reporting_a_copied_key_leaves_its_honest_reports_standing(version: int) -> None:
    council, chain = council_chain(version)
    university = council.university
    k1_stolen_at = chain.height + 1
    forged = documents_of(issued_batch(chain, university))[0]  # the K1 thief's
    k2 = rotated(chain, university)
    k2_made_at = chain.height
    commit(chain, [make_tx(k2, ReportCompromisePayload(university.public_key,
                                                       k1_stolen_at))])
    assert verdict_of(chain, forged).status == "compromised_key"

    k3 = rotated(chain, k2)  # K2 was copied as it was made: reported from its first block
    commit(chain, [make_tx(k3, ReportCompromisePayload(k2.public_key, k2_made_at))])
    assert verdict_of(chain, forged).status == "compromised_key"
    history = load_key_history(chain.state, university.member_id)
    assert history is not None
    assert [p.compromised_from for p in history.periods] == [k1_stolen_at, k2_made_at, None]
