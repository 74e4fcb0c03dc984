"""Benchmarks run by scripts/bench (not tests: figures, not assertions)."""
