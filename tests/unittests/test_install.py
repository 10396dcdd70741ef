"""The install step: ``constraints-cpu.txt`` keeps a CPU machine off torch's CUDA wheels."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints-cpu.txt"


def _torch_pins(platform: str, machine: str) -> list[str]:
    lines = [line.strip() for line in CONSTRAINTS.read_text().splitlines()]
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#")]
    env = {"sys_platform": platform, "platform_machine": machine}
    return [
        str(r.specifier) for r in requirements if r.name == "torch" and (r.marker is None or r.marker.evaluate(env))
    ]


@pytest.mark.parametrize(
    ("platform", "machine", "pin"),
    [
        # PyPI's Linux wheels of torch 2.13.0 require cuda-toolkit 13 on both (checked in the wheels' metadata).
        ("linux", "x86_64", "==2.13.0+cpu"),
        ("linux", "aarch64", "==2.13.0+cpu"),
        ("darwin", "arm64", "==2.13.0"),  # PyPI's wheel is the CPU build
        ("win32", "AMD64", "==2.13.0"),
    ],
)
def test_each_platform_gets_exactly_one_cpu_torch(platform: str, machine: str, pin: str) -> None:
    assert _torch_pins(platform, machine) == [pin]
