"""Whether a relay behind this node could have found good a signature found bad here.

A node relays only transactions it admitted, their signatures checked against the key
its own state holds for the sender. When that sender has rotated its key, a relay some
blocks behind holds one of its earlier keys, and a signature bad here may have been good
there. The state keeps every key a member ever had (`ledger.key_events`), so a relayed
signature bad under the sender's key here is tried against the earlier ones: if none
matches, no relay behind this node admitted it, and the relay's fault is as plain as for
a sender that never rotated (node.network then treats both alike; a relay ahead, which
may hold a rotation not yet here, is node.peer_penalty's settle time).

Only earlier keys within the transaction's reach are tried: a node admits only what
expires within MAX_TX_TTL_BLOCKS of its next block, so the relay's state was at least
`expires_at - 1 - MAX_TX_TTL_BLOCKS` high, and a key rotated away from before that was no
longer its key. How far behind a relay is says nothing more: a node that is catching up
still admits submissions and gossip against the state it has, and relays them.

The trials cost signature checks, paid only for signatures already bad and at most
EARLIER_KEY_CHECKS_PER_SUBMISSION_MAX per submission (a signature whose keys would not
fit in what is left is not tried, and counts for nothing, as before).
"""

from __future__ import annotations

from ledger.errors import BadSignature, MalformedInput
from ledger.identity import verify_signature
from ledger.key_events import MAX_KEY_PERIODS, KeyHistory, key_history_of
from ledger.records import Member
from ledger.rules import MAX_TX_TTL_BLOCKS
from ledger.transactions import Transaction
from ledger.validator_sets import StateReader

# Enough to try every earlier key of a sender that has had the most keys a member may
# have, once per submission: a forged submission (at most 32 bad signatures, see
# node.public_work) then costs at most about three times the checks it did.
EARLIER_KEY_CHECKS_PER_SUBMISSION_MAX = MAX_KEY_PERIODS - 1


def keys_in_reach(history: KeyHistory, expires_at: int) -> list[bytes]:
    """The member's earlier keys a node could have held when it admitted a transaction
    expiring at `expires_at`, newest first (an honest relay is most often a block or two
    behind). A node at height h holds the key of the period with from_height <= h <
    until_height, and admitted it only at h >= expires_at - 1 - MAX_TX_TTL_BLOCKS."""
    oldest_height = expires_at - 1 - MAX_TX_TTL_BLOCKS
    return [period.public_key for period in reversed(history.periods[:-1])
            if period.until_height is not None and period.until_height > oldest_height]


class EarlierKeyTrials:
    """Tries relayed bad signatures against earlier keys, for one submission checked
    in one state (the public pool's view)."""

    def __init__(self, state: StateReader, chain_id: str) -> None:
        self._state = state
        self._chain_id = chain_id
        self._checks_left = EARLIER_KEY_CHECKS_PER_SUBMISSION_MAX

    def judge(self, tx: Transaction, sender: Member, refusal: BadSignature) -> BadSignature:
        """`refusal` itself, or a copy with `earlier_keys_ruled_out` when none of the
        sender's earlier keys in reach signed `tx`."""
        if not refusal.key_changed:
            return refusal
        try:
            history = key_history_of(self._state, tx.sender, sender)
        except MalformedInput:  # a record the state should not hold: nothing is proven
            return refusal
        keys = keys_in_reach(history, tx.expires_at)
        if len(keys) > self._checks_left:
            return refusal
        message = tx.signed_message(self._chain_id)
        for key in keys:
            self._checks_left -= 1
            if verify_signature(key, message, tx.signature):
                return refusal
        return BadSignature(refusal.sender, refusal.key, refusal.key_changed,
                            earlier_keys_ruled_out=True)
