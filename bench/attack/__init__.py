"""The attack lab: a real local consortium, honest load, and one attack at a time.

Each attack is measured against a baseline taken in the same run: honest
clients' commit rate and commit latency, every node's RSS and data-directory
growth. `scripts/attack` runs the full versions; tests/attack/ the short ones.
Traffic goes only to 127.0.0.0/8; every loop is bounded in count and time.
"""
