"""What `senim governance list` says beside the sets and proposals, that the bare lists hid.

A validator's key rotation (or replacement) writes a new validator set naming the same
members as the one before: listed by name alone it read as a change that changed nothing;
and said as a "key rotation" whatever it was, a key the ministries replaced (a thief's,
perhaps) read as one the member changed itself.
And a proposal to run rules of a version this node's release does not know was said like
any other until approved, when the operator has least time left to upgrade.
"""

from __future__ import annotations

from typing import Any

from cli.governance_words import who
from cli.spoken import Joined, Sentence
from ledger.governance import MAX_RECENT_PROPOSALS
from ledger.payloads import ACTION_SET_RULES_VERSION
from ledger.rules_version import MAX_KNOWN_RULES_VERSION

FINGERPRINT = 8  # hex digits of a key said beside a name: enough to tell two apart by eye


def validator_set_lines(sets: list[dict[str, Any]]) -> list[Sentence]:
    """Each validator set by height, and after one whose member kept its place under a new
    key, that key change: a rotation by the member, or a replacement by governance (with
    the block of its approval and the height it distrusted the earlier keys from), as the
    node's `key_change` says. The first set listed has nothing listed before it to compare
    with; a node of an older release names no keys, and its sets are said as before; one
    that names keys but not how they changed is said a key change, neither of the two."""
    lines: list[Sentence] = []
    before: dict[str, str] = {}
    for record in sets:
        listed = ", ".join(who(v) for v in record["validators"])
        height = record["from_height"]
        now = {str(v["member_id"]): str(v["public_key"]) for v in record["validators"]
               if isinstance(v.get("public_key"), str)}
        moved = [v for v in record["validators"]
                 if before.get(str(v["member_id"]), now.get(str(v["member_id"])))
                 != now.get(str(v["member_id"]))]
        line = Sentence("gov.list.validators", f"Validators from height {height}: {listed}.",
                        height=height, names=listed)
        if moved:
            changes = _key_changes(moved, before)
            line = Sentence("gov.list.validators_changed", f"Validators from height {height}: "
                            f"{listed}; {changes}.", height=height, names=listed,
                            changes=changes)
        lines.append(line)
        before = now
    return lines


def _key_changes(moved: list[dict[str, Any]], before: dict[str, str]) -> Joined:
    """The key changes of one set, rotations first (said together, as they always were),
    then each replacement with its heights, then those the chain no longer tells
    (`node.key_changes.UNKNOWN`), then those a node of an older release does not."""
    rotated: list[str] = []
    unrecorded: list[str] = []
    unknown: list[str] = []
    replaced: list[Sentence] = []
    for validator in moved:
        # no words of any language: a name and two fingerprints
        change = (f"{who(validator)} {before[str(validator['member_id'])][:FINGERPRINT]}… → "
                  f"{str(validator['public_key'])[:FINGERPRINT]}…")
        how = validator.get("key_change")
        by = how.get("by") if isinstance(how, dict) else None
        if by == "rotation":
            rotated.append(change)
        elif by == "replacement" and isinstance(how, dict):
            replaced.append(_replacement(how, change))
        elif by == "unknown":
            unrecorded.append(change)
        else:
            unknown.append(change)
    parts: list[Sentence] = []
    if rotated:
        said = ", ".join(rotated)
        parts.append(Sentence("gov.list.key_rotation", f"key rotation: {said}", changes=said))
    parts += replaced
    if unrecorded:
        said = ", ".join(unrecorded)
        parts.append(Sentence("gov.list.key_unrecorded", "key change (whether rotated by its "
                              "member or replaced by governance is no longer on record: the "
                              "chain keeps only its latest proposals, at most "
                              f"{MAX_RECENT_PROPOSALS}): {said}", changes=said,
                              kept=MAX_RECENT_PROPOSALS))
    if unknown:
        said = ", ".join(unknown)
        parts.append(Sentence("gov.list.key_changed", "key change (whether rotated by its "
                              f"member or replaced by governance, this node does not say): "
                              f"{said}", changes=said))
    return Joined(parts, "; ")


def _replacement(how: dict[str, Any], change: str) -> Sentence:
    """One replacement's phrase; a height of another type than a number is a malformed
    answer (`cli.client_answers.MALFORMED_ANSWER`), said as one by the command."""
    height, since = how["height"], how.get("distrusted_from")
    if not isinstance(height, int) or isinstance(height, bool):
        raise ValueError("a key change's height is not a number")
    if isinstance(since, int) and not isinstance(since, bool):
        return Sentence("gov.list.key_replaced_distrusted", f"key replaced by governance at "
                        f"block {height}, earlier keys distrusted from block {since}: "
                        f"{change}", height=height, since=since, change=change)
    return Sentence("gov.list.key_replaced", f"key replaced by governance at block {height}: "
                    f"{change}", height=height, change=change)


def unknown_version_note(proposal: dict[str, Any], rules: dict[str, Any] | None
                         ) -> Sentence | None:
    """For an open proposal of a rules version the node's release does not know: that the
    node must be upgraded before the version's height, or it stops there once approved.
    `rules` is the node's answer's (a node before rules versions has none: this release's
    bound is taken)."""
    if proposal["action"] != ACTION_SET_RULES_VERSION or proposal["status"] != "open":
        return None
    known = int(rules["known"]) if rules and "known" in rules else MAX_KNOWN_RULES_VERSION
    version, height = int(proposal["rules_version"]), int(proposal["effective_height"])
    if version <= known:
        return None
    return Sentence("gov.list.upgrade_before", f"  upgrade needed: this node's release knows "
                    f"rules up to version {known}, not {version}; once this proposal is "
                    f"approved, it stops before block {height} unless upgraded by then.",
                    known=known, version=version, height=height)
