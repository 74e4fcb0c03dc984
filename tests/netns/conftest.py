"""Network-namespace tests: root and iproute2 needed, skipped with the reason otherwise."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "netns: partitions in network namespaces (root; deselect with -m 'not netns')")
