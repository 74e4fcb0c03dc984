"""The short attack lab: one consortium shared by every attack in the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.attack.lab import Lab


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "attack: the attack lab's short runs (deselect with -m 'not attack')")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root: Path = tmp_path_factory.mktemp("attack-lab")
    with Lab(root) as running:
        yield running
