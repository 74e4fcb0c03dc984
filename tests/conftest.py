"""Hypothesis profiles. CI runs `derandomized`: each property test draws the same
examples on every run, so a clean clone passes or fails on its code alone, never on
the luck of a draw. `scripts/properties` runs them under `explore`, with fresh random
seeds, to look for new failures; a failure found there becomes a plain test."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("derandomized", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile("derandomized")  # --hypothesis-profile explore replaces it
