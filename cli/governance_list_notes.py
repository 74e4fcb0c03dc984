"""What `senim governance list` says beside the sets and proposals, that the bare lists hid.

A validator's key rotation (or replacement) writes a new validator set naming the same
members as the one before: listed by name alone it read as a change that changed nothing.
And a proposal to run rules of a version this node's release does not know was said like
any other until approved, when the operator has least time left to upgrade.
"""

from __future__ import annotations

from typing import Any

from cli.governance_words import who
from cli.spoken import Sentence
from ledger.payloads import ACTION_SET_RULES_VERSION
from ledger.rules_version import MAX_KNOWN_RULES_VERSION

FINGERPRINT = 8  # hex digits of a key said beside a name: enough to tell two apart by eye


def validator_set_lines(sets: list[dict[str, Any]]) -> list[Sentence]:
    """Each validator set by height, and after one whose member kept its place under a new
    key, that key change. The first set listed has nothing listed before it to compare
    with; a node of an older release names no keys, and its sets are said as before."""
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
            # no words of any language: names and fingerprints
            changes = ", ".join(f"{who(v)} {before[str(v['member_id'])][:FINGERPRINT]}… → "
                                f"{str(v['public_key'])[:FINGERPRINT]}…" for v in moved)
            line = Sentence("gov.list.validators_rotated", f"Validators from height {height}: "
                            f"{listed}; key rotation: {changes}.", height=height,
                            names=listed, changes=changes)
        lines.append(line)
        before = now
    return lines


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
