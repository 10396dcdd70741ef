"""Shared fixtures."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from ecopt_testing import FakeClock, FakeMeter


def _zeus_sees_a_gpu() -> bool:
    import torch

    if not torch.cuda.is_available():
        return False
    from lightning_ecopt.energy import probe_zeus

    return bool(probe_zeus([0], read_cpu=False).gpu_indices)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``gpu`` tests where Zeus finds no GPU counter (CI, these machines); run them on a GPU machine."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if gpu_items and not _zeus_sees_a_gpu():
        skip = pytest.mark.skip(reason="needs an NVIDIA GPU with Zeus counters (NVML)")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_meter(fake_clock: FakeClock) -> FakeMeter:
    return FakeMeter(fake_clock)


@pytest.fixture(autouse=True)
def _fresh_fallback_warning() -> None:
    """EnergyCallback warns about the estimate once per process; each test starts as a fresh process would."""
    from lightning_ecopt.callbacks import energy

    energy._FALLBACK_WARNED.clear()


@pytest.fixture
def quiet_warnings() -> Iterator[None]:
    """Ignore warnings (Ax and BoTorch are chatty): for modules that ask, ``pytest.mark.usefixtures(...)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
