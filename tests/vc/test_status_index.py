"""A status entry's index is a short string of ASCII digits: "²" passed `str.isdigit` and
then raised from `int()` (as 5,000 digits did) once the list it names verified; the
node's own lists verify, so anyone could have sent one."""

from __future__ import annotations

import pytest

from ledger.identity import KeyPair
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.status import (
    STATUS_INDEX_DIGITS_MAX,
    entry_status,
    status_entry,
    status_list_credential,
)

URL = "https://node.example/v1/vc/status/1"


def signed_list(revoked: list[int]) -> dict[str, object]:
    keys = KeyPair.from_seed(b"\x09" * 32)
    unsigned = status_list_credential(URL, did_key(keys.public_key), "2026-01-01T00:00:00Z",
                                      revoked, 8)
    return add_proof(unsigned, keys, "2026-01-01T00:00:00Z")


@pytest.mark.parametrize("index", ["²", "١", "1" * 5_000, "1" * (STATUS_INDEX_DIGITS_MAX + 1),
                                   "-1", " 1", ""])
def test_an_index_that_is_no_short_ascii_number_is_malformed(index: str) -> None:
    entry = {**status_entry(URL, 0), "statusListIndex": index}
    status, detail = entry_status(entry, signed_list([]), lambda _document: True)
    assert status == "malformed" and "statusListIndex" in detail


def test_a_good_index_is_read() -> None:
    listed = signed_list([3])
    assert entry_status(status_entry(URL, 3), listed, lambda _document: True)[0] == "revoked"
    assert entry_status(status_entry(URL, 2), listed, lambda _document: True)[0] is None
