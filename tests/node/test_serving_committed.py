"""A node serves the blocks it has just committed to a peer that catches up without
checking their certificates' signatures again (it committed them certified), while
a certificate or block damaged on disk since is still refused."""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.chain_layout import BLOCK_PREFIX, CERT_PREFIX, height_key
from ledger.codec import decode, encode
from node.block_serve import serve_blocks
from node.validators import ValidatorSets
from storage.errors import CorruptStateError
from tests.node.conftest import Consortium
from tests.node.set_changes import commit_as


def _counting_checks(chain: Chain) -> list[int]:
    """Certificate checks the chain makes from now on, by height."""
    certifies = ValidatorSets.for_chain(chain).certifies
    checked: list[int] = []

    def counted(data: bytes, height: int, block_hash: bytes) -> bool:
        checked.append(height)
        return certifies(data, height, block_hash)

    chain.check_certificates(counted)
    checked.clear()
    return checked


def test_blocks_just_committed_are_served_without_checking_signatures_again(
        net: Consortium, chain: Chain) -> None:
    checked = _counting_checks(chain)
    for _ in range(5):
        commit_as(chain, [], [net.ministry])
    answer = serve_blocks(chain, encode([1, 5]))
    assert answer is not None
    height, served = decode(answer)
    assert height == 5 and len(served) == 5
    assert checked == []  # 180 µs a block of signature checks before, on the server


def test_a_certificate_damaged_after_commit_is_still_refused(net: Consortium,
                                                            chain: Chain) -> None:
    checked = _counting_checks(chain)
    blocks = [commit_as(chain, [], [net.ministry]) for _ in range(3)]
    good = chain.get_certificate(2)
    assert good is not None
    chain.kv.write({height_key(CERT_PREFIX, 2): good[:-1] + bytes([good[-1] ^ 1])})
    with pytest.raises(CorruptStateError, match="block 2 is not the block named by its cert"):
        chain.get_certificate(2)
    assert checked == [2]  # the damaged one, checked as it no longer matches
    chain.kv.write({height_key(CERT_PREFIX, 2): good,
                    height_key(BLOCK_PREFIX, 2): blocks[1].encode() + b"\x00"})
    with pytest.raises(CorruptStateError, match="stored block 2"):
        chain.get_block_bytes(2)


def test_a_block_committed_while_its_certificate_is_asked_for_is_no_damage(
        net: Consortium, chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer's block sync read the certificate of the block being committed before the
    commit wrote it (none), and the head after the commit moved it: "store damaged: not
    serving blocks ... the stored certificate of block 3 does not verify"."""
    _counting_checks(chain)
    for _ in range(2):
        commit_as(chain, [], [net.ministry])
    read = chain.kv.get
    asked = height_key(CERT_PREFIX, 3)

    def committed_meanwhile(key: bytes) -> bytes | None:
        value = read(key)
        if key == asked and chain.height == 2:  # the commit lands between the two reads
            commit_as(chain, [], [net.ministry])
        return value

    monkeypatch.setattr(chain.kv, "get", committed_meanwhile)
    assert chain.get_certificate(3) is None  # not held yet, as the head read first said
    assert chain.height == 3
    assert chain.get_certificate(3) is not None
