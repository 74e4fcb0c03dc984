"""scripts/attack: each attack's baseline and attack phase, a table, and the verdict.

    python -m bench.attack.run [--short] [--only NAME] [--seconds S] [--keep DIR] [--port-base PORT]

With --record FILE the table also goes into FILE's attack section (BENCHMARKS.md).
Exits 1 when some aim is missed by a wide margin, 2 when the lab itself failed.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.attack.address_flood import AddressFlood
from bench.attack.base import Attack, Check, common_checks
from bench.attack.crowd_attacks import (
    ConnectionCrowd,
    EmptyArrayBodies,
    VcCrowd,
    VcEmptyObjects,
)
from bench.attack.gossip_junk import GossipJunk
from bench.attack.http_attacks import (
    BadSignatureFlood,
    EvidenceReadLoop,
    GovernanceReadLoop,
    SlowLoris,
    VerifyBodyFlood,
)
from bench.attack.lab import Lab, PhaseResult
from bench.attack.one_address import OneAddress
from bench.attack.p2p_attacks import EvidenceSpam, HandshakeFlood, StrangerLines
from bench.attack.report import markdown, table
from bench.attack.squat import BatchRootSquat
from bench.attack.sync_flood import SyncFlood
from bench.kept_sections import ATTACK_LAB, BrokenMarkers, kept_in
from bench.machine import machine

FULL_SECONDS = 20.0
SHORT_SECONDS = 6.0
MAX_SECONDS = 300.0

ATTACKS: dict[str, Callable[[bool], Attack]] = {
    "verify-body-flood": VerifyBodyFlood,
    "bad-signature-flood-1": lambda short: BadSignatureFlood(short, 1),
    "bad-signature-flood-2": lambda short: BadSignatureFlood(short, 2),
    "slow-loris": SlowLoris,
    "evidence-read-loop": EvidenceReadLoop,
    "batch-root-squat": BatchRootSquat,
    "empty-array-bodies": EmptyArrayBodies,
    "connection-crowd": ConnectionCrowd,
    "vc-crowd": VcCrowd,
    "vc-empty-objects": VcEmptyObjects,
    "gossip-junk": GossipJunk,
    "governance-read-loop": GovernanceReadLoop,
    "stranger-lines": StrangerLines,
    "one-address-p2p": lambda short: OneAddress(short, "p2p"),
    "one-address-api": lambda short: OneAddress(short, "api"),
    "one-address-both": lambda short: OneAddress(short, "both"),
    "sync-flood-blocks": lambda short: SyncFlood(short, "blocks"),
    "sync-flood-head": lambda short: SyncFlood(short, "head"),
    "sync-flood-state": lambda short: SyncFlood(short, "state"),
    "address-flood": AddressFlood,
    # Last: they kill and restart validators.
    "handshake-flood-restart": HandshakeFlood,
    "evidence-spam": EvidenceSpam,
}


# Found by the session-20 trial; run by scripts/attack, not by CI's tests/attack (each
# would add a lab phase pair to CI: their fixes have tests of their own that take
# seconds).
LAB_ONLY = frozenset({"empty-array-bodies", "connection-crowd", "vc-crowd", "gossip-junk",
                      "governance-read-loop", "stranger-lines", "one-address-p2p",
                      "one-address-api", "one-address-both", "vc-empty-objects",
                      "sync-flood-blocks", "sync-flood-head", "sync-flood-state",
                      "address-flood"})


@dataclass
class Outcome:
    attack: str
    baseline: PhaseResult | None = None
    under_attack: PhaseResult | None = None
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    @property
    def wide_miss(self) -> bool:
        return any(c.wide_miss for c in self.checks)


def _phase(lab: Lab, attack: Attack, seconds: float, attacking: bool) -> PhaseResult:
    extra: dict[str, float] = {}
    side = threading.Thread(target=lambda: extra.update(attack.both_phases(lab, seconds)),
                            daemon=True)
    side.start()
    if attacking:
        attack.start(lab, time.monotonic() + seconds)
    try:
        result = lab.run_phase(seconds)
    finally:
        if attacking:
            attack.stop()
    side.join(timeout=seconds * 2 + 60)
    result.extra.update(extra)
    return result


def run_attack(lab: Lab, attack: Attack, seconds: float) -> Outcome:
    """Baseline then attack, on `lab`; never raises: a lab failure is in `error`."""
    outcome = Outcome(attack.name)
    seconds = max(seconds, attack.min_phase_s)
    try:
        lab.settle()
        attack.prepare(lab)
        try:
            outcome.baseline = _phase(lab, attack, seconds, attacking=False)
            lab.settle()
            outcome.under_attack = _phase(lab, attack, seconds, attacking=True)
        finally:
            attack.cleanup(lab)
        outcome.checks = common_checks(attack.name, outcome.baseline, outcome.under_attack)
        outcome.checks += attack.checks(outcome.baseline, outcome.under_attack)
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    return outcome


@contextlib.contextmanager
def lab_in(root: Path | None, port_base: int | None = None) -> Iterator[Lab]:
    folder = Path(tempfile.mkdtemp(prefix="senim-attack-")) if root is None else root
    try:
        with Lab(folder, port_base) as lab:
            yield lab
    finally:
        if root is None:
            shutil.rmtree(folder, ignore_errors=True)


def run_all(names: list[str], short: bool, seconds: float, shared: bool,
            keep: Path | None = None, report: Callable[[Outcome], None] | None = None,
            port_base: int | None = None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with contextlib.ExitStack() as stack:
        shared_lab = stack.enter_context(lab_in(keep, port_base)) if shared else None
        for name in names:
            attack = ATTACKS[name](short)
            phase_s = max(seconds, attack.min_phase_s)
            print(f"== {name}: {phase_s:.0f}s baseline, {phase_s:.0f}s under attack",
                  file=sys.stderr, flush=True)
            if shared_lab is not None:
                outcome = run_attack(shared_lab, attack, seconds)
            else:
                try:
                    with lab_in(keep / name if keep else None, port_base) as lab:
                        outcome = run_attack(lab, attack, seconds)
                except Exception as exc:
                    outcome = Outcome(name, error=f"{type(exc).__name__}: {exc}")
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/attack", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true",
                        help="the short versions CI runs, on one shared consortium")
    parser.add_argument("--only", action="append", choices=sorted(ATTACKS),
                        help="run only this attack (repeatable)")
    parser.add_argument("--seconds", type=float, help="length of each phase")
    parser.add_argument("--keep", type=Path, help="lay the consortia out here and keep them")
    parser.add_argument("--port-base", type=int, metavar="PORT",
                        help="give the nodes ports from PORT up (12), rather than any free")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="also write the table into FILE's attack section "
                             "(e.g. BENCHMARKS.md)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (SHORT_SECONDS if args.short else FULL_SECONDS)
    if not 1 <= seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS:.0f}")
    names = [n for n in ATTACKS if not args.only or n in args.only]
    if args.record is not None:
        try:  # before minutes of attacks, not after
            kept_in(args.record)
        except BrokenMarkers as exc:
            parser.error(f"--record {args.record}: {exc}")
    started = time.monotonic()
    outcomes = run_all(names, args.short, seconds, shared=args.short, keep=args.keep,
                       port_base=args.port_base)
    took_s = time.monotonic() - started
    print(table(outcomes))
    print(f"\n{len(names)} attacks, {seconds:.0f}s per phase, {took_s:.0f}s in all")
    if args.record is not None:
        command = " ".join(["scripts/attack", *(argv if argv is not None else sys.argv[1:])])
        ATTACK_LAB.put_into(args.record, markdown(outcomes, command, seconds, took_s, machine()))
    if any(o.error for o in outcomes):
        return 2
    missed = [o.attack for o in outcomes if o.wide_miss]
    if missed:
        print("aims missed by a wide margin: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
