"""Test doubles shared by the suite (importable as `ecopt_testing`: pytest puts tests/ on sys.path).

Not named `tests.*`: Zeus installs a top-level `tests` package into site-packages.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lightning_ecopt.energy import Measurement


class FakeClock:
    """A fake world: tests advance time and energy explicitly, so every figure is exact."""

    def __init__(self) -> None:
        self.time_s = 0.0
        self.gpu_j = 0.0
        self.cpu_j = 0.0

    def advance(self, time_s: float, gpu_j: float = 0.0, cpu_j: float = 0.0) -> None:
        self.time_s += time_s
        self.gpu_j += gpu_j
        self.cpu_j += cpu_j


class FakeMeter:
    """An EnergyMeter reading a FakeClock: GPU 0 and CPU counters, labelled as measured."""

    source = "measured: fake/counters"

    def __init__(self, clock: FakeClock, update_period_s: float = 1e-6) -> None:
        self.clock = clock
        self.update_period_s = update_period_s
        self.open: dict[str, tuple[float, float, float]] = {}
        self.calls: list[str] = []

    def begin(self, name: str) -> None:
        assert name not in self.open, f"window {name} opened twice"
        self.calls.append(f"begin {name}")
        self.open[name] = (self.clock.time_s, self.clock.gpu_j, self.clock.cpu_j)

    def end(self, name: str) -> Measurement:
        self.calls.append(f"end {name}")
        t0, g0, c0 = self.open.pop(name)
        return Measurement(
            time_s=self.clock.time_s - t0,
            gpu_j={0: self.clock.gpu_j - g0},
            cpu_j=self.clock.cpu_j - c0,
            source=self.source,
        )


class FakeReadingMeter(FakeMeter):
    """A FakeMeter that is also a CounterReader: raw readings for per-batch windows."""

    def read(self) -> tuple[float, float, float]:
        self.calls.append("read")
        return (self.clock.time_s, self.clock.gpu_j, self.clock.cpu_j)

    def joules_between(self, start: tuple[float, float, float], end: tuple[float, float, float]) -> float:
        return (end[1] - start[1]) + (end[2] - start[2])


def ecopt_sweeper(tmp_path: Path, **kwargs: Any) -> Any:
    """An ``EcoptSweeper`` as Hydra builds it, its sweep dir ``tmp_path``, for its checks and configuration.

    Two objectives and one parameter unless ``kwargs`` say otherwise; no launcher and no Hydra context.
    """
    from omegaconf import OmegaConf

    from hydra_plugins.ecopt_sweeper.ecopt_sweeper import EcoptSweeper

    kwargs.setdefault("objectives", {"f1": "minimize", "f2": "minimize"})
    kwargs.setdefault("params", {"x": "interval(0, 1)"})
    sweeper = EcoptSweeper(**kwargs)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    return sweeper


@contextlib.contextmanager
def user_warnings_as_errors() -> Iterator[None]:
    """Every ``UserWarning`` raised as an error, but Lightning's advice on DataLoader workers and our CPU contention.

    That advice depends on the host's CPU count (see ``tests/conftest.py``'s ``_a_many_cpu_host``), and the contention
    warning on what else the shared host runs at the time (it failed a test once while other processes loaded the
    machine), so a test that means "nothing of ours warns" must not fail on either.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", "EnergyCallback: other processes kept .* busy during the")
        yield
