"""Which of a member's keys may stand as a Senim VC's `did:key` issuer.

A member's id comes from its first key and stays when the key rotates, so the
did:key of a Senim VC is tied to its member through the chain's key history, never
by deriving an id from the key: the key that signed the VC's batch, or another key
the member held (a credential exported after a rotation, with the key in use then).
A key reported stolen signs nothing here but what it signed on chain itself: a VC
proof carries no height the chain vouches for, so a thief could date it at will.
"""

from __future__ import annotations

from ledger.distrust import member_key_history
from ledger.errors import InvalidDocument, MalformedInput
from ledger.identity import KeyPair, member_id_of
from ledger.key_events import KeyPeriod
from ledger.record_checks import Finding
from ledger.verification import ChainFacts


def _period_words(period: KeyPeriod) -> str:
    until = "" if period.until_height is None else f" to {period.until_height}"
    return f"in use from height {period.from_height}{until}"


def issuer_did_finding(did_public_key: bytes, member_id: bytes, batch_root: bytes,
                       facts: ChainFacts, issuer_name: str) -> Finding:
    """Is the VC's did:key the key that signed its batch, or a key the member held?"""
    name = issuer_name or member_id.hex()
    batch = facts.batch(member_id, batch_root)
    try:
        history = member_key_history(facts, member_id)
    except (InvalidDocument, MalformedInput) as exc:
        return Finding("member", False, f"the member's keys cannot be read from this source "
                       f"({exc})", "malformed")
    if history is None or batch is None:
        return Finding("member", False, f"{name} or its batch is not on chain", "unknown")
    signer = history.signer_of(batch.signer_key)
    if signer is not None and signer.public_key == did_public_key:
        return Finding("member", True, f"the issuer's did:key is {name}'s key that signed "
                       f"the batch ({_period_words(signer)})")
    period = history.period_of(did_public_key)
    if period is None:
        return Finding("member", False, f"the issuer's did:key is neither the key that signed "
                       f"the batch nor any key {name} has held on chain", "tampered")
    if period.compromised_from is not None:
        return Finding("member", False, f"the VC is signed with a key of {name} reported "
                       f"stolen from height {period.compromised_from}, not the key that "
                       "signed its batch: it may have been made by the thief",
                       "compromised_key")
    return Finding("member", True, f"the issuer's did:key is a key of {name} "
                   f"({_period_words(period)}); another of its keys signed the batch")


def check_export_key(keys: KeyPair, issuer: bytes, batch_signer_key: bytes | None,
                     current_key: bytes | None = None) -> None:
    """Refuse to export with a key other than the one that signed the batch or the
    member's current key (`current_key`, as the chain records it): a verifier takes
    either (`issuer_did_finding`), and a member whose key was lost and replaced holds
    only the current one. `batch_signer_key` None: a batch from before keys could
    rotate, signed with the member's first key (the one its id comes from)."""
    if keys.member_id != issuer:
        raise InvalidDocument("this key is not the credential's issuer: only the issuer "
                              "may sign its credentials as VCs", "not_issuer_key")
    signed_by_this_key = (keys.public_key == batch_signer_key if batch_signer_key is not None
                          else member_id_of(keys.public_key) == issuer)
    if not signed_by_this_key and keys.public_key != current_key:
        which = (batch_signer_key.hex()[:16] + "…" if batch_signer_key is not None
                 else "its first key")
        raise InvalidDocument(f"this credential's batch was signed with the issuer's key "
                              f"{which}, and this key is not the issuer's current one "
                              "either: export it with the key file that signed the batch, "
                              "or with the issuer's current key", "not_batch_key", key=which)
