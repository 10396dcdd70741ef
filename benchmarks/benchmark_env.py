"""What every benchmark records about where it ran: package versions, and the CPU that ran it.

The same commit can propose differently on another day: the hosts behind these VMs change between sessions, and a
CPU with other vector units (AVX-512 or not) rounds the GP's linear algebra differently, which a Bayesian
optimisation amplifies over its trials (docs/bench-frontier.md, "Rerun at HEAD"). So results record the CPU too.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

__all__ = ["cpu_identity", "package_versions"]

_SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each distribution in ``names``, or ``"not installed"``."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_identity() -> dict[str, object]:
    """The CPU's model name, its vector-unit flags that change floating-point results, and the kernel build."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return {"cpu": model, "cpu_simd": [f for f in _SIMD_FLAGS if f in flags], "kernel": platform.release()}
