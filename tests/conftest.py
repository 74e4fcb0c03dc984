"""Hypothesis profiles. CI runs `derandomized`: each property test draws the same
examples on every run, so a clean clone passes or fails on its code alone, never on
the luck of a draw. `scripts/properties` runs them under `explore`, with fresh random
seeds, to look for new failures; a failure found there becomes a plain test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("derandomized", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile("derandomized")  # --hypothesis-profile explore replaces it

# `senim verify` speaks the language the locale names (cli.language): the tests read its
# English, so they run under an English one whatever the machine's (a Kazakh or Russian
# desktop), and a test of another language says so with --lang or its own environment.
for _name in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"


@pytest.fixture(autouse=True)
def _no_language_left_over() -> Iterator[None]:
    """A command run in this process with --lang kk leaves that language chosen
    (cli.language.speak): a test that then calls what it says directly (senim issue's
    progress, a job's pending lines) would read Kazakh. Each test starts with none."""
    from cli.language import forget_spoken

    forget_spoken()
    yield
    forget_spoken()
