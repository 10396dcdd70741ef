"""Energy edge cases: Zeus without counters, RAPL wrap-around, 0 J, short loops, shared counters, mixed sources.

Zeus's hardware is faked (as in ``tests/unittests/test_energy.py``): a fake NVML, and a fake powercap tree read by
Zeus's own RAPL code, so the wrap-around arithmetic under test is Zeus's.
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lightning_ecopt.energy import CpuTimeEstimator, ZeusMeter, make_meter
from lightning_ecopt.exceptions import EnergyMeterError

MAX_RANGE_UJ = 262_143_328_850  # a real package's max_energy_range_uj (~262 kJ: ~22 min at 200 W)


class _NoGPUs:
    def __len__(self) -> int:
        return 0


class _OneGPU:
    """Zeus's GPU manager for one GPU whose counter (mJ) the test advances."""

    def __init__(self) -> None:
        self.mj = 0

    def __len__(self) -> int:
        return 1

    def supports_get_total_energy_consumption(self, index: int) -> bool:
        return True

    def get_total_energy_consumption(self, index: int) -> int:
        return self.mj

    def get_instant_power_usage(self, index: int) -> int:
        return 0


def test_zeus_installed_but_no_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NVML and no RAPL (a VM, CI): 'zeus' is refused with the fix; 'auto' falls back to a labelled estimate."""
    from zeus.device.cpu.common import ZeusCPUInitError
    from zeus.device.exception import ZeusBaseGPUError
    from zeus.monitor import energy as zeus_energy

    def no_gpus() -> Any:
        raise ZeusBaseGPUError("NVML Shared Library Not Found")

    def no_rapl() -> Any:
        raise ZeusCPUInitError("RAPL unvailable")

    monkeypatch.setattr(zeus_energy, "get_gpus", no_gpus)
    monkeypatch.setattr(zeus_energy, "get_cpus", no_rapl)
    with pytest.raises(EnergyMeterError, match=r"Zeus found no energy counter to read: no GPU counters.*zeusd"):
        make_meter("zeus", gpu_indices=[0])
    meter, why = make_meter("auto", gpu_indices=[0])
    assert isinstance(meter, CpuTimeEstimator)
    assert meter.source == "estimated: cpu-time"
    assert why is not None
    assert "energy is ESTIMATED" in why


# -- RAPL wrap-around ------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_rapl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A powercap tree with one package; Zeus's RAPL code reads it. Returns the package's energy_uj file.

    Its wrap-around tracker is :class:`_Tracker`, in place before the CPUs are built: Zeus up to 0.15 builds the
    tracker with each RAPL file (0.16 at the first read), and a tracker patched in later was never used there.
    """
    from zeus.device.cpu import rapl

    monkeypatch.setattr(rapl, "RaplWraparoundTracker", _Tracker)
    _Tracker.wraps = 0
    _Tracker.started = []
    return _powercap_tree(tmp_path, monkeypatch)[0]


def _powercap_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    """The fake tree of :func:`fake_rapl`, read by Zeus in place of sysfs: its energy_uj file and Zeus's CPUs."""
    from zeus.device.cpu import rapl
    from zeus.monitor import energy as zeus_energy

    package = tmp_path / "intel-rapl" / "intel-rapl:0"
    package.mkdir(parents=True)
    (package / "name").write_text("package-0\n")
    (package / "max_energy_range_uj").write_text(f"{MAX_RANGE_UJ}\n")
    (package / "energy_uj").write_text("0\n")
    for var in ("ZEUSD_SOCK_PATH", "ZEUSD_HOST", "ZEUSD_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(rapl, "RAPL_DIR", str(tmp_path / "intel-rapl"))
    rapl.rapl_is_available.cache_clear()
    cpus = rapl.RAPLCPUs()
    rapl.rapl_is_available.cache_clear()
    monkeypatch.setattr(zeus_energy, "get_cpus", lambda: cpus)
    monkeypatch.setattr(zeus_energy, "get_gpus", lambda: _NoGPUs())
    monkeypatch.setattr(zeus_energy, "sync_execution_fn", lambda *a, **k: None)
    return package / "energy_uj", cpus


class _Tracker:
    """Stands in for Zeus's wrap-around tracker process; the test says how many wraps it has seen."""

    wraps = 0
    started: ClassVar[list[_Tracker]] = []

    def __init__(self, path: str, max_energy_uj: float) -> None:
        self.path, self.max_energy_uj = path, max_energy_uj
        self.stopped = False
        _Tracker.started.append(self)

    def get_num_wraparounds(self) -> int:
        return _Tracker.wraps

    def _stop(self) -> None:  # Zeus's: terminate the polling process
        self.stopped = True


def test_rapl_wrap_is_counted_when_zeus_saw_it(fake_rapl: Path) -> None:
    fake_rapl.write_text(f"{MAX_RANGE_UJ - 5_000_000}\n")  # 5 J below the top
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    assert meter.source == "measured: zeus/rapl"
    meter.begin("loop")
    fake_rapl.write_text("3000000\n")  # wrapped: 3 J past zero
    _Tracker.wraps = 1
    m = meter.end("loop")
    assert m.cpu_j == pytest.approx(8.0)


def test_a_wrap_zeus_missed_is_nan_never_negative(fake_rapl: Path) -> None:
    """The tracker starts on the first read and polls every 0.1-1 s: a wrap it missed must not become -262 kJ."""
    fake_rapl.write_text(f"{MAX_RANGE_UJ - 5_000_000}\n")
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    meter.begin("loop")
    fake_rapl.write_text("3000000\n")
    with pytest.warns(UserWarning, match=r"ZeusMeter: the window 'loop' read a negative energy \(cpu"):
        m = meter.end("loop")
    assert m.cpu_j is not None
    assert math.isnan(m.cpu_j)
    assert math.isnan(m.total_j)  # so samples/J is NaN and the trial fails with a reason instead of winning


def test_the_wrap_tracker_starts_with_the_meter_and_stops_before_a_multiprocessing_child_joins_it(
    fake_rapl: Path,
) -> None:
    """Zeus 0.16 started the tracker at the first reading, inside the first window (which held its start-up), and
    stops it only in an atexit handler: a process started by multiprocessing (a joblib/loky worker, a ddp_spawn rank)
    joins its children before atexit, and waited forever on the tracker's endless polling loop."""
    import multiprocessing.util

    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    assert meter.reads_counters  # the monitor is built; no window opened yet
    assert len(_Tracker.started) == 1
    tracker = _Tracker.started[0]
    assert ZeusMeter(gpu_indices=[], read_cpu=True).reads_counters  # a second meter (the next trial): same tracker
    registry = multiprocessing.util._finalizer_registry  # type: ignore[attr-defined]
    stops = [f for f in list(registry.values()) if f._callback == tracker._stop]
    assert len(stops) == 1
    # _exit_function runs the finalizers of priority >= 0, then joins the children: the tracker is stopped first.
    priority = stops[0]._key[0]
    assert priority is not None
    assert priority >= 0
    stops[0]()
    assert tracker.stopped


@pytest.fixture
def rapl_with_zeus_tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake tree read with Zeus's own tracker (a spawned process polling energy_uj); Zeus's CPUs, stopped after."""
    _, cpus = _powercap_tree(tmp_path, monkeypatch)
    yield cpus
    tracker = cpus.cpus[0].rapl_file._wraparound_tracker
    if tracker is not None:
        tracker._stop()


def test_the_wrap_tracker_runs_from_a_worker_whose_start_method_a_fresh_interpreter_lacks(
    rapl_with_zeus_tracker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A joblib (loky) worker's start method is 'loky': Zeus's spawned tracker took it and died at start ("cannot
    find context for 'loky'", a traceback per zone), so no wrap-around was counted and a window across one read NaN.
    It also re-imported the user's script (torch, Lightning: seconds of CPU that RAPL counted in the first window)."""
    import multiprocessing
    import multiprocessing.context
    import multiprocessing.spawn
    import sys

    class _WorkerContext(multiprocessing.context.SpawnContext):
        _name = "ecopt-worker"  # known in this process only, as loky registers 'loky' in its workers

    monkeypatch.setitem(multiprocessing.context._concrete_contexts, "ecopt-worker", _WorkerContext())  # type: ignore[attr-defined]
    prepared: list[dict[str, Any]] = []
    real_preparation = multiprocessing.spawn.get_preparation_data

    def preparation(name: str) -> dict[str, Any]:
        prepared.append(real_preparation(name))
        return prepared[-1]

    monkeypatch.setattr(multiprocessing.spawn, "get_preparation_data", preparation)
    main = sys.modules["__main__"]
    saved = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("ecopt-worker", force=True)
    try:
        assert ZeusMeter(gpu_indices=[], read_cpu=True).reads_counters
        assert multiprocessing.get_start_method() == "ecopt-worker"  # restored
    finally:
        multiprocessing.set_start_method(saved, force=True)
    assert sys.modules["__main__"] is main
    assert len(prepared) == 1  # the package's tracker, started with the meter
    assert prepared[0]["start_method"] == "spawn"
    assert "init_main_from_path" not in prepared[0]
    assert "init_main_from_name" not in prepared[0]
    process = rapl_with_zeus_tracker.cpus[0].rapl_file.wraparound_tracker.process
    process.join(timeout=2.0)  # a tracker that cannot start exits within a second, with exit code 1
    assert process.exitcode is None


def test_zeus_polling_process_counts_a_wrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Zeus's own tracker loop, stepped deterministically: a counter that goes down is one wrap-around.

    A contract test of the pinned dependency, not of our code: ``test_rapl_wrap_is_counted_when_zeus_saw_it`` relies
    on this behaviour of Zeus, and a Zeus upgrade that changed it fails here first, with the cause named.
    """
    import multiprocessing

    from zeus.device.cpu import rapl

    energy = tmp_path / "energy_uj"
    energy.write_text(f"{MAX_RANGE_UJ - 5_000_000}\n")
    polled, resume = threading.Semaphore(0), threading.Semaphore(0)
    stop = threading.Event()

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            polled.release()
            resume.acquire()
            if stop.is_set():
                raise KeyboardInterrupt  # how Zeus's loop ends

    monkeypatch.setattr(rapl, "time", _Time)
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    thread = threading.Thread(target=rapl._polling_process, args=(str(energy), MAX_RANGE_UJ, counter))
    thread.start()
    polled.acquire()  # first poll done: near the top
    energy.write_text("3000000\n")
    resume.release()
    polled.acquire()  # second poll: saw the wrap
    assert counter.value == 1
    stop.set()
    resume.release()
    thread.join(timeout=10)
    assert not thread.is_alive()


# -- shared counters, 0 J and short loops in a sweep -----------------------------------------------------------------


def test_two_trials_on_one_gpu_each_count_both(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why side-by-side trials are tagged shared_counters: NVML counts the whole device, for every reader."""
    from zeus.monitor import energy as zeus_energy

    gpu = _OneGPU()
    monkeypatch.setattr(zeus_energy, "get_gpus", lambda: gpu)
    monkeypatch.setattr(zeus_energy, "sync_execution_fn", lambda *a, **k: None)
    first, second = ZeusMeter(gpu_indices=[0], read_cpu=False), ZeusMeter(gpu_indices=[0], read_cpu=False)
    first.begin("trial")
    second.begin("trial")
    gpu.mj += 6_000  # 3 J of work by each trial
    assert first.end("trial").gpu_j == {0: 6.0}
    assert second.end("trial").gpu_j == {0: 6.0}  # 12 J reported for 6 J spent


@pytest.fixture
def fast_ax() -> Any:
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    with warnings.catch_warnings(), mock_botorch_optimize_context_manager(force=True):
        warnings.simplefilter("ignore")
        yield


@pytest.mark.usefixtures("fast_ax")
def test_zero_joules_fail_the_trial_and_short_loops_are_flagged_in_the_results(tmp_path: Path) -> None:
    """A 0 J window logs samples/J as NaN (EnergyCallback): the trial fails naming the metric; a short loop's flag
    (``energy/test_short_window``) is kept with the trial as a tracking metric."""
    from lightning_ecopt.energy.figures import LoopEnergy
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    def trial(params: dict[str, Any]) -> dict[str, Any]:
        zero = params["x"] < 0.5
        loop = LoopEnergy(
            "test", "measured: fake", time_s=0.2, gpu_j=0.0 if zero else 4.0, cpu_j=None, dram_j=None, samples=8,
            batches=1, short=True,
        )  # fmt: skip
        return {"acc": params["x"], **loop.metrics(), "energy/source": loop.source}

    space = parse_search_space({"x": "interval(0, 1)"}, [])
    objectives = parse_objectives({"acc": "maximize", "energy/test_samples_per_j": "maximize"}, None)
    settings = SweepSettings(objectives, n_trials=6, seed=1, max_failure_rate=1.0, storage=tmp_path / "ax.json")
    result = ParetoSweep.from_function(space, settings, trial).run()
    failed = [t for t in result.trials if t.status == "failed"]
    completed = [t for t in result.trials if t.status == "completed"]
    assert failed
    assert completed
    for t in failed:
        assert t.params["x"] < 0.5
        assert "energy/test_samples_per_j" in (t.reason or "")
    for t in completed:
        assert t.metrics["energy/test_short_window"] == 1.0


def test_a_nan_domain_makes_the_loop_figure_nan_not_smaller(fake_clock: Any) -> None:
    """A domain the meter read as NaN (a wrap it refused to guess) must not silently drop out of the total."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.demos.boring_classes import BoringModel

    from ecopt_testing import FakeMeter
    from lightning_ecopt.callbacks.energy import EnergyCallback
    from lightning_ecopt.energy import Measurement

    class _WrappedCpuMeter(FakeMeter):
        def end(self, name: str) -> Measurement:
            super().end(name)
            return Measurement(time_s=2.0, gpu_j={0: 5.0}, cpu_j=math.nan, source=self.source)

    callback = EnergyCallback(meter=_WrappedCpuMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    trainer = Trainer(
        callbacks=[callback], logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, limit_test_batches=2,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.test(BoringModel(), verbose=False)
    assert math.isnan(trainer.callback_metrics["energy/test_j"].item())
    assert math.isnan(trainer.callback_metrics["energy/test_samples_per_j"].item())
