"""Seeds that once failed, pinned forever (run by test_simulation.py; never skipped).

Each entry: (seed, validators, later_faults, what it caught). Add every failing
seed found by `scripts/simulate` here before fixing what it exposed.
`later_faults=False` runs the seed without the faults added to the simulator
after it was pinned, which reproduces its original schedule exactly.
"""

_SPOKEN_VIEW = ("crash between entering a view change and persisting it: the check must "
                "compare with views the replica has sent messages in")
_SYNC_WORK = ("driver did not re-announce WorkAvailable after BlockSynced: a laggard with "
              "nothing to agree on never caught up")

REGRESSION_SEEDS: list[tuple[int, int, bool, str]] = [
    (11, 4, False, _SPOKEN_VIEW),
    (50, 4, False, _SPOKEN_VIEW),
    (61, 4, False, _SPOKEN_VIEW),
    (79, 7, False, _SPOKEN_VIEW),
    (12, 4, False, _SYNC_WORK),
    (126, 4, False, _SYNC_WORK),
    (134, 4, False, _SYNC_WORK),
    (221, 4, False, _SYNC_WORK),
    (251, 4, False, _SYNC_WORK),
    (21, 7, False, _SYNC_WORK),
    (34, 7, False, _SYNC_WORK),
    (58, 7, False, _SYNC_WORK),
    (111, 7, False, _SYNC_WORK),
    (165, 7, False, _SYNC_WORK),
    (194, 7, False, _SYNC_WORK),
]
