"""A new member's key comes with its holder's proof of possession (rules version 12).

Before version 12 a ministry's own `add_member`, or governance's, could name any public
key. A key serves one member, once (`ledger.key_events.key_holder`), so naming a key its
holder had asked for elsewhere took it from them: a member that lost its key made a new
one and a replacement request holding it (public by design), and a hostile ministry
admitted a member of its own with that key before the replacement's proposal was
committed, or after it expired, and the replacement was refused (`key_in_use`), request
after request. The open-proposal check (`governance.refuse_key_awaiting_replacement`)
covered only the time the proposal was open. From version 12 every way a key enters the
state after genesis carries its holder's signature for that purpose: a rotation's
(`key-possession`, bound to the member), a replacement's (`key-replacement`, bound to the
member), and an admission's here (`member-admission`, bound to the name and role it
admits the key as). None serves as another, so a request's proof, public in an open
proposal, cannot be reused to admit its key, nor an admission's to admit it as something
its holder did not ask to be.

Pure: no IO; the chain id is given.
"""

from __future__ import annotations

from ledger.codec import encode
from ledger.errors import TxRejected
from ledger.identity import KeyPair, signing_bytes, verify_signature
from ledger.rules_version import ADMISSION_PROOF_FROM

ADMISSION_DOMAIN = b"member-admission"


def admission_message(chain_id: str, public_key: bytes, name: str, role: str) -> bytes:
    """What a new member's key signs to ask to be admitted on this chain as `name`, `role`."""
    return signing_bytes(ADMISSION_DOMAIN, chain_id, encode([public_key, name, role]))


def prove_admission(new_keys: KeyPair, chain_id: str, name: str, role: str) -> bytes:
    return new_keys.sign_raw(admission_message(chain_id, new_keys.public_key, name, role))


def check_admission_proof(public_key: bytes, name: str, role: str, proof: bytes | None,
                          rules_version: int, chain_id: str | None) -> None:
    """Whether an admission of `public_key` as `name`, `role` carries what the block's rules
    version asks: from ADMISSION_PROOF_FROM a proof, checked against `chain_id` (None: it
    was checked when proposed, and never changes); before it none, since a release that
    knows no later version cannot decode an admission carrying one."""
    if rules_version < ADMISSION_PROOF_FROM:
        if proof is not None:
            raise TxRejected("rules_version_too_low", f"an admission with the key's proof of "
                             f"possession is accepted from rules version "
                             f"{ADMISSION_PROOF_FROM}; this block is under version "
                             f"{rules_version} (propose set-rules-version first)",
                             version=ADMISSION_PROOF_FROM, current=rules_version)
        return
    if proof is None:
        raise TxRejected("possession_proof_missing", "from rules version "
                         f"{ADMISSION_PROOF_FROM} a new member's key is admitted only with its "
                         "proof of possession (the member makes it: senim key "
                         "request-admission): without it anyone could take a key its holder "
                         "asked for elsewhere", version=ADMISSION_PROOF_FROM)
    if chain_id is not None and not verify_signature(
            public_key, admission_message(chain_id, public_key, name, role), proof):
        raise TxRejected("bad_possession_proof", "the proof of possession is not the new "
                         "key's signature over this chain, the key, and the name and role "
                         "it is admitted as")
