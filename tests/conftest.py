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
