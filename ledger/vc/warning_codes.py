"""What a W3C VC's verification noted besides its verdict (`VcVerdict.warnings`), by code.

The warnings are English sentences, which API clients and `senim verify --json` have
always read. A reader in another language needs to know which warning each one is, and
the portal cannot be asked to parse English: so each is made here, by code, and the
verdict carries the codes beside the sentences (`warning_codes`), in the same order.
"""

from __future__ import annotations

import re

UNKNOWN_STATUS_TYPE = "a credentialStatus of an unknown type was not checked"
LIST_ONLY = "the chain holds no revocation of this credential, but its status list marks it revoked"
CHAIN_NOT_CHECKED = "Senim chain checks not run: no node or proof to ask"
HOLDER_NOT_SUBJECT = ("the presentation's signer is not named as its credentials' subject: "
                      "it shows that its holder has the files, not whose they are")
# A presentation verified with no challenge of the verifier's: its signature holds however
# often it is shown, so one made for another verifier (or copied from one) passes as well.
CHALLENGE_NOT_CHECKED = ("no challenge was checked: this presentation could be a replay of one "
                         "made for someone else")
KEY_NOT_TIED = ("the issuer's did:key is not the member's first key: only the chain's key "
                "history can tell whether the member held it")
# A credential with no `senim` section, which no chain can record: its verdict is its
# signature's (and its issuer's status list's), and anyone can make a did:key and sign a
# credential naming any university. A VC-API client reading only `verified` was told
# nothing of it.
NOT_ON_CHAIN = ("no Senim chain records this credential: only its signature was checked, and "
                "anyone can sign a credential with a key of their own")

# The codes, one a warning: each reader has words of its own for each.
STATUS_LIST_UNCHECKED = "status_list_unchecked"
STATUS_LIST_NOT_ISSUERS = "status_list_not_issuers"
FIXED = {UNKNOWN_STATUS_TYPE: "status_type_unknown", LIST_ONLY: "list_only",
         CHAIN_NOT_CHECKED: "chain_not_checked", HOLDER_NOT_SUBJECT: "holder_not_subject",
         CHALLENGE_NOT_CHECKED: "challenge_not_checked", KEY_NOT_TIED: "key_not_tied",
         NOT_ON_CHAIN: "not_on_chain"}
# A warning none of these made (none does now): said as one the reader cannot word,
# never dropped, so that a caution is not lost on its way to a reader.
OTHER = "other"
# DOTALL: the URL is the credential's, and may hold any character
_UNCHECKED = re.compile(r"status list (.+) was not checked \(not served here\)", re.DOTALL)
_NOT_ISSUERS = re.compile(r"status list (.+) is not signed by the credential's issuer: "
                          r"not used", re.DOTALL)


def list_unchecked(url: str) -> str:
    return f"status list {url} was not checked (not served here)"


def list_not_issuers(url: str) -> str:
    return f"status list {url} is not signed by the credential's issuer: not used"


def warning_code(warning: str) -> tuple[str, str | None]:
    """A warning's code, and the status list URL it names (None when it names none)."""
    unchecked = _UNCHECKED.fullmatch(warning)
    if unchecked:
        return STATUS_LIST_UNCHECKED, unchecked[1]
    foreign = _NOT_ISSUERS.fullmatch(warning)
    if foreign:
        return STATUS_LIST_NOT_ISSUERS, foreign[1]
    return FIXED.get(warning, OTHER), None
