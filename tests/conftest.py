"""Hypothesis profiles. CI runs `derandomized`: each property test draws the same
examples on every run, so a clean clone passes or fails on its code alone, never on
the luck of a draw. `scripts/properties` runs them under `explore`, with fresh random
seeds, to look for new failures; a failure found there becomes a plain test."""

from __future__ import annotations

import os
import signal
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

# A test run started in the background by a shell without job control (`cmd &` in a script)
# has Ctrl-C ignored, and every process it starts inherits that: a node the tests send
# SIGINT would never hear it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The packages whose files start nodes, browsers or simulator workers run first: with
# scripts/test's two workers each taking whole files, a long file left to the end could
# run alone while the other worker had nothing left. Many short files then fill the end.
LONG_FILES_FIRST = ("sim", "e2e", "attack", "browser", "fuzz", "netns")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def package_rank(item: pytest.Item) -> int:
        parts = item.path.relative_to(config.rootpath).parts  # ("tests", package, ...)
        package = parts[1] if len(parts) > 2 else ""
        return LONG_FILES_FIRST.index(package) if package in LONG_FILES_FIRST \
            else len(LONG_FILES_FIRST)
    items.sort(key=package_rank)  # stable: each file's own order is kept


@pytest.fixture(autouse=True)
def _no_language_left_over() -> Iterator[None]:
    """A command run in this process with --lang kk leaves that language chosen
    (cli.language.speak): a test that then calls what it says directly (senim issue's
    progress, a job's pending lines) would read Kazakh. Each test starts with none."""
    from cli.language import forget_spoken

    forget_spoken()
    yield
    forget_spoken()
