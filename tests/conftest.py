"""Shared fixtures."""

from __future__ import annotations

import pytest

from ecopt_testing import FakeClock, FakeMeter


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
