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


ROOT = CONSTRAINTS.parent

_BUILD = """
import sys, warnings
from setuptools.warnings import SetuptoolsDeprecationWarning
warnings.simplefilter("error", SetuptoolsDeprecationWarning)  # setuptools fails these builds from 2027-02-18
from setuptools import build_meta
out = sys.argv[1]
sdist = build_meta.build_sdist(out)
print("built:", sdist, build_meta.prepare_metadata_for_build_wheel(out))
"""


@pytest.mark.timeout(300)
def test_the_sdist_carries_what_packagers_rebuild_and_test_and_the_license(tmp_path: Path) -> None:
    """The sdist held only the package, README and pyproject (no tests, which pyproject's pytest config names, no
    example configs, no license), and the license was a TOML table setuptools deprecates (packaging review)."""
    import subprocess
    import sys
    import tarfile

    built = subprocess.run(
        [sys.executable, "-c", _BUILD, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr[-3000:]
    sdist, dist_info = built.stdout.splitlines()[-1].split()[1:]
    with tarfile.open(tmp_path / sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "conf/train.yaml", "examples/train.py", "tests/conftest.py"} <= names
    assert "tests/unittests/test_install.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    metadata = (tmp_path / dist_info / "METADATA").read_text()
    assert "License-Expression: MIT" in metadata
    assert (tmp_path / dist_info / "licenses" / "LICENSE").is_file()


def test_zeus_lower_bound_has_the_device_api_we_call() -> None:
    """Zeus 0.11-0.12 name their device methods in camelCase; ours (``supports_get_total_energy_consumption``...)
    raised AttributeError at the first GPU probe there, and pip kept an installed 0.12 (packaging review). Up to
    0.15.0 its Apple silicon and Jetson measurements cannot be built (``zeroAllFields`` left abstract): the SoC meter
    raised TypeError at its first window (floors review, scripts/check_lowest.sh)."""
    import tomllib

    from packaging.version import Version

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (zeus,) = [Requirement(d) for d in dependencies if Requirement(d).name == "zeus"]
    assert not zeus.specifier.contains(Version("0.12.3"))
    assert not zeus.specifier.contains(Version("0.15.0"))
    assert zeus.specifier.contains(Version("0.15.1"))


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_check_lowest_refuses_a_python_newer_than_the_floor_of_requires_python(tmp_path: Path, version: str) -> None:
    """On 3.12 the floors' wheels (numpy 1.24, pandas 1.5) do not exist: uv blamed a floor valid for 3.11."""
    import shutil
    import subprocess

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    python = tmp_path / "python"  # answers the version check, fails anything else (a venv would be built)
    python.write_text(f'#!/bin/sh\nif [ "$1" = -c ]; then echo {version}; exit 0; fi\nexit 7\n')
    python.chmod(0o755)
    venv = tmp_path / "venv"
    script = CONSTRAINTS.parent / "scripts" / "check_lowest.sh"
    env = {"PATH": "/usr/bin:/bin", "PYTHON": str(python), "LOWEST_VENV": str(venv)}
    done = subprocess.run([bash, str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"is Python {version}; the floors are tried on Python 3.11, the floor of requires-python" in done.stderr
    assert "Set PYTHON=python3.11." in done.stderr
    assert not venv.exists()
