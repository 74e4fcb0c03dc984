"""The machine a figure was measured on, as BENCHMARKS.md names it."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name(cpuinfo: str) -> str:
    """The first processor's model name in `cpuinfo` (/proc/cpuinfo's text), with its
    family and model numbers: a cloud host may give one name ("AMD EPYC") to CPUs of
    different generations, and these numbers tell them apart where the name does not."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if not name.strip():
            if fields:
                break  # the first processor's block ends at its first blank line
            continue
        fields.setdefault(name.strip(), value.strip())
    if "model name" not in fields:
        return "unknown CPU"
    return fields["model name"] + "".join(
        f", {label} {fields[key]}" for key, label in (("cpu family", "family"),
                                                      ("model", "model")) if key in fields)


def machine() -> str:
    try:
        cpu = cpu_name(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        cpu = "unknown CPU"
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, "
            f"Python {platform.python_version()}, {platform.system()} {platform.machine()}")
