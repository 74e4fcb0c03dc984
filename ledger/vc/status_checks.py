"""A W3C VC's status entries against their status lists, for `ledger.vc.verify`.

Each entry's list (`StatusLookup`) is read by `ledger.vc.status.entry_status`; here a
list that cannot be used becomes the verdict's check, worded for the reader: a list that
is out of date or cannot be read leaves the revocation status unconfirmed (verdict
"unknown", with `facts` saying why), which is not a malformed credential.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.vc.canon import Loader
from ledger.vc.export import batch_list_id
from ledger.vc.proofs import instant as _instant
from ledger.vc.status import (
    INDEX_OUTSIDE,
    LIST_UNUSABLE,
    NOT_FOR_PURPOSE,
    NOT_THE_ISSUERS,
    OUT_OF_DATE,
    entry_status,
)
from ledger.vc.warning_codes import UNKNOWN_STATUS_TYPE, list_not_issuers, list_unchecked
from ledger.verification import Check, when

if TYPE_CHECKING:
    from ledger.vc.verify import VcVerdict

# statusListCredential URL -> the status list credential, or None when it cannot
# be had (the caller decides where lists come from: the node serves its own).
StatusLookup = Callable[[str], dict[str, Any] | None]


def outside_validity(document: dict[str, Any], now: datetime
                     ) -> tuple[str, datetime, str] | None:
    """Which bound of the document's validity period `now` is outside (its property name),
    that bound, and why in words; None within it."""
    valid_from, valid_until = _instant(document.get("validFrom")), _instant(
        document.get("validUntil"))
    if valid_from is not None and now < valid_from:
        return "validFrom", valid_from, f"not valid before {document['validFrom']}"
    if valid_until is not None and now >= valid_until:
        return "validUntil", valid_until, f"expired at {document['validUntil']}"
    return None


def _status_entries(document: dict[str, Any]) -> list[Any]:
    status = document.get("credentialStatus")
    if status is None:
        return []
    return status if isinstance(status, list) else [status]


def check_status(verdict: VcVerdict, document: dict[str, Any], now: datetime,
                 lookup: StatusLookup | None, loader: Loader | None,
                 signer: bytes | None) -> bool:
    """Each status entry against its list; `signer`: the key a list must be signed by to
    count (None: any, the lookup's lists being vouched for)."""
    for entry in _status_entries(document):
        if entry.get("type") != "BitstringStatusListEntry":
            verdict.warnings.append(UNKNOWN_STATUS_TYPE)
            continue
        url = entry.get("statusListCredential")
        if not isinstance(url, str):
            verdict.fail("malformed", Check("status", False, "the status entry names no list"))
            return False
        # A verifier's own lists speak of their batch's credentials alone: of a list of
        # another batch, a presentation's other credential's say, nothing is read.
        own = batch_list_id(document) if signer is None else None
        listed = lookup(url) if lookup and (
            signer is not None or (own is not None and url.endswith(own.hex()))) else None
        if listed is None:
            verdict.warnings.append(list_unchecked(url))
            continue
        status, detail = entry_status(entry, listed, lambda d: outside_validity(d, now) is None,
                                      loader, signer)
        if status == NOT_THE_ISSUERS:
            verdict.warnings.append(list_not_issuers(url))
            continue
        if status == OUT_OF_DATE:
            verdict.fail("unknown", _list_out_of_date(verdict, listed, now))
            return False
        if status in LIST_UNUSABLE:
            verdict.fail("unknown", _list_unusable(verdict, entry, status, detail))
            return False
        if status is not None:
            verdict.fail(status, Check("status", False, detail))
            return False
        verdict.checks.append(Check("status", True, detail))
    return True


def _list_out_of_date(verdict: VcVerdict, listed: dict[str, Any], now: datetime) -> Check:
    """The check of a status list outside its validity period, which `entry_status` found
    by `outside_validity` too. The status stays "unknown" (API clients know it), but
    "unknown" alone was read as "not on this chain", of a credential whose list was only
    out of date (an old list replayed, signed before a revocation): `facts` say which
    bound and when, so each reader can say that no revocation status was confirmed."""
    outside = outside_validity(listed, now)
    if outside is None:  # not so: entry_status asked this of the same list and moment
        return Check("status", False, "the status list is outside its validity period")
    bound_name, bound, _problem = outside
    early = bound_name == "validFrom"
    moment = when(int(bound.timestamp() * 1000))
    verdict.facts["status_list_validity"] = "not_yet_valid" if early else "expired"
    verdict.facts["status_list_valid_from" if early else "status_list_valid_until"] = moment
    said = f"not valid before {moment}" if early else f"expired at {moment}"
    return Check("status", False, "the revocation status could not be confirmed: the status "
                 f"list offered is outside its validity period ({said}); do not rely on the "
                 "credential until a current status list is available")


def _list_unusable(verdict: VcVerdict, entry: dict[str, Any], problem: str, detail: str
                   ) -> Check:
    """The check of a status list that cannot be read for the entry: not a status list,
    not for the entry's purpose, bits that do not decode, or too few of them. The list is
    what is wrong, not the credential, so it is not "malformed" (said to an officer as a
    damaged credential): as of an out-of-date list, no revocation status was confirmed,
    and `facts` say what was wrong with the list."""
    verdict.facts["status_list_problem"] = problem
    if problem == NOT_FOR_PURPOSE:
        verdict.facts["status_list_purpose"] = str(entry.get("statusPurpose"))[:40]
    if problem == INDEX_OUTSIDE:
        verdict.facts["status_list_index"] = int(entry["statusListIndex"])
    return Check("status", False, f"the revocation status could not be confirmed: {detail}; "
                 "do not rely on the credential until a usable status list is available")
