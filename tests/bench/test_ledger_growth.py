"""`--only ledger-growth` splits each round's CPU a transaction by stage and counts the
store reads that find no value: the reads that grow dearer as a node's store fills, and
that its key filters spare."""

from __future__ import annotations

from bench.ledger_growth import ledger_growth, render

MEMTABLE_BYTES = 64 * 1024  # small enough that the rounds' writes make LevelDB flush
# A transaction, of LevelDB's threads when they have nothing to do (they read about 0.03 µs;
# the margin is for any other thread of the test's process, which the figure includes).
QUIET_MAX_US = 10.0


def test_no_stage_reads_the_absent_keys_of_a_new_issue_from_the_store() -> None:
    rows = ledger_growth(rounds=2, round_txs=300, block_txs=100,
                         write_buffer_bytes=MEMTABLE_BYTES)
    assert [(row["entries_before"], row["transactions"]) for row in rows] == [(0, 300),
                                                                              (300, 300)]
    # The second round runs on the chain the first one grew, by its three blocks.
    assert rows[1]["height_before"] == rows[0]["height_before"] + 3
    for row in rows:
        # The new batch's key and the transaction's replay-index entry, read when it is
        # admitted (through a snapshot) and when its block is built (the store) without
        # filters, are answered by the chain's key filters (filled, as a node's) ...
        assert row["block_absent_reads"] == 0.0
        # ... leaving the admission job's own few reads, shared by its 300 transactions
        assert row["admission_absent_reads"] < 0.05
        assert row["store_absent_read_us"] > 0 and row["snapshot_absent_read_us"] > 0
        assert min(row["admission_us"], row["build_us"], row["commit_us"]) > 0
    table = render(rows)
    assert table[-1].startswith("| 300 | ") and "| 0.00 + 0.00 |" in table[-1]


def test_leveldb_threads_count_what_leveldb_does() -> None:
    # The default memtable (32 MiB) never fills in 600 issues: LevelDB's threads idle.
    quiet = ledger_growth(rounds=2, round_txs=300, block_txs=100)
    assert all(row["store_threads_us"] < QUIET_MAX_US for row in quiet)
    # A small one makes them flush, and their CPU lands in the rounds' rows. (Rounds of
    # 600: of 300, with no reads of absent keys left to start compactions, LevelDB's
    # threads spent about as much as the margin.)
    flushing = ledger_growth(rounds=2, round_txs=600, block_txs=100,
                             write_buffer_bytes=MEMTABLE_BYTES)
    assert (sum(row["store_threads_us"] for row in flushing)
            > sum(row["store_threads_us"] for row in quiet) + QUIET_MAX_US)
