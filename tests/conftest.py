"""Shared fixtures."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

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


@pytest.fixture(autouse=True, scope="session")
def _no_botorch_kernel_build() -> Iterator[None]:
    """No test compiles BoTorch's fused qLogNEHVI kernel (C++, ~25 s per fresh checkout, cached under ``$HOME``).

    Through the environment for the benchmarks' smoke runs in subprocesses (the sweeper and the benchmarks ask
    :mod:`lightning_ecopt.sweeper.fused_kernel`), and in this process for BoTorch itself too: a qLogNEHVI built where
    the sweeper's preparation is faked out would otherwise reach BoTorch's own loader.
    """
    from botorch.acquisition.multi_objective import logei

    from lightning_ecopt.sweeper.fused_kernel import ENV_SWITCH

    before = os.environ.get(ENV_SWITCH), logei._load_attempted
    os.environ[ENV_SWITCH] = "0"
    logei._load_attempted = True
    yield
    if before[0] is None:
        del os.environ[ENV_SWITCH]
    else:
        os.environ[ENV_SWITCH] = before[0]
    logei._load_attempted = before[1]


@pytest.fixture(autouse=True, scope="session")
def _a_many_cpu_host() -> Iterator[None]:
    """Lightning's DataLoader advice as on a 16-CPU host, whatever this one has.

    Lightning warns "does not have many workers" only where it could suggest more than one (``cpu_count - 1 > 1``):
    never on CI's 2 CPUs, always on a workstation or a GPU node. Two tests that turned every ``UserWarning`` into an
    error passed here and failed on a 16-CPU H200 host (2026-12-04); with this, they would have failed here too.
    """
    from lightning.pytorch.trainer.connectors import data_connector

    real = data_connector.suggested_max_num_workers
    data_connector.suggested_max_num_workers = lambda local_world_size: max(1, 16 // local_world_size - 1)
    yield
    data_connector.suggested_max_num_workers = real


@pytest.fixture(autouse=True)
def _no_columns_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``COLUMNS`` but a test's own: pytest-xdist's workers set ``COLUMNS=80``, which ``ecopt report`` obeys.

    Piped, the report gives its tables 140 columns unless ``COLUMNS`` asks otherwise; under ``pytest -n`` a heading
    naming a tmp path wrapped at 80 and four report tests failed. A test about widths sets ``COLUMNS`` itself.
    """
    monkeypatch.delenv("COLUMNS", raising=False)


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


@pytest.fixture
def lbfgs_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every L-BFGS-B run of a GP fit: the options BoTorch's optimiser got and the iterations it made.

    Spies on the two routes of ``fit_gpytorch_mll_scipy``: the batched fit of a multi-output ``SingleTaskGP`` and
    scipy's ``minimize`` for a single output.
    """
    import botorch.optim.fit as botorch_fit

    runs: list[dict] = []

    def spy(real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            runs.append({"options": kwargs.get("options"), "iterations": result.step})
            return result

        return wrapped

    for name in ("_fit_gpytorch_mll_scipy_independent", "scipy_minimize"):
        monkeypatch.setattr(botorch_fit, name, spy(getattr(botorch_fit, name)))
    return runs
