"""The energy layer: Measurement, the CPU-time estimator, the Zeus meter (on a faked NVML/RAPL) and make_meter."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

from lightning_ecopt.energy import (
    CounterReader,
    CpuTimeEstimator,
    EnergyMeter,
    Measurement,
    ZeusMeter,
    ZeusProbe,
    make_meter,
    probe_zeus,
)
from lightning_ecopt.energy.figures import PER_BATCH_MIN_PERIODS, LoopEnergy, choose_per_batch_mode
from lightning_ecopt.energy.select import CoveredElsewhere
from lightning_ecopt.exceptions import EnergyMeterError


def test_measurement_totals_every_domain() -> None:
    m = Measurement(time_s=4.0, gpu_j={0: 10.0, 1: 30.0}, cpu_j=5.0, dram_j=1.0, source="measured: zeus/nvml+rapl")
    assert m.gpu_total_j == 40.0
    assert m.total_j == 46.0
    assert m.power_w == 11.5
    assert m.kind == "measured"
    assert Measurement(time_s=0.0).power_w == 0.0
    # A window under a second has a power too (0 W is only for an empty window).
    assert Measurement(time_s=0.5, cpu_j=1.0).power_w == 2.0
    assert Measurement(time_s=1.0, gpu_j={0: 3.0}).power_w == 3.0


def test_estimator_is_cpu_time_times_watts_plus_idle() -> None:
    ticks = iter([(10.0, 100.0), (12.5, 104.0)])
    est = CpuTimeEstimator(watts_per_thread=3.0, idle_power_w=2.0, clock=lambda: next(ticks))
    est.begin("w")
    m = est.end("w")
    assert m.time_s == 2.5
    assert m.cpu_j == pytest.approx(4.0 * 3.0 + 2.5 * 2.0)
    assert m.gpu_j == {}
    assert m.dram_j is None
    assert m.source == "estimated: cpu-time (3 W/thread + 2 W idle)"  # other constants: another model
    assert isinstance(est, EnergyMeter)


def test_estimator_windows_keep_their_length_below_a_second() -> None:
    """A window's time is the wall clock's difference, floored at 0 (a clock that went back), never rounded up to a
    whole second: a 0.25 s loop reported as 1 s divides its joules by four times its duration (power, short flag)."""
    ticks = iter([(10.0, 100.0), (10.25, 100.1), (20.0, 200.0), (19.5, 200.2)])
    est = CpuTimeEstimator(watts_per_thread=3.0, clock=lambda: next(ticks))
    est.begin("short")
    short = est.end("short")
    assert (short.time_s, short.cpu_j) == (0.25, pytest.approx(0.3))
    est.begin("back")
    assert est.end("back").time_s == 0.0


def test_estimator_readings_give_the_same_joules_as_a_window() -> None:
    ticks = iter([(10.0, 100.0), (12.5, 104.0), (10.0, 100.0), (12.5, 104.0), (13.0, 103.0)])
    est = CpuTimeEstimator(watts_per_thread=3.0, idle_power_w=2.0, clock=lambda: next(ticks))
    assert isinstance(est, CounterReader)
    est.begin("w")
    window = est.end("w")
    start, end = est.read(), est.read()
    assert est.joules_between(start, end) == window.cpu_j == pytest.approx(17.0)
    assert est.joules_between(end, est.read()) == pytest.approx(0.5 * 2.0)  # CPU time never runs backwards


def test_estimator_counts_real_cpu_work_and_not_waiting() -> None:
    est = CpuTimeEstimator()
    before = time.process_time()
    est.begin("busy")
    sum(i * i for i in range(300_000))
    busy = est.end("busy")
    cpu_s = time.process_time() - before
    assert busy.time_s > 0
    assert busy.cpu_j == pytest.approx(cpu_s * est.watts_per_thread, rel=0.5, abs=0.05)
    est.begin("idle")
    time.sleep(0.3)
    idle = est.end("idle")
    assert idle.time_s >= 0.3
    assert idle.cpu_j < 0.05 * idle.time_s * est.watts_per_thread  # a sleep is no work: wall time is not billed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"watts_per_thread": -1}, "watts_per_thread=-1"),
        ({"idle_power_w": math.inf}, "idle_power_w=inf"),
        ({"watts_per_thread": "5"}, "watts_per_thread='5'"),
        ({"watts_per_thread": 0}, r"watts_per_thread=0, idle_power_w=0\): every estimate would be 0 J"),
        ({"watts_per_thread": True}, r"watts_per_thread=True\): expected a finite number"),  # was 1 W
        ({"idle_power_w": False}, r"idle_power_w=False\): expected a finite number"),
    ],
)
def test_estimator_rejects_bad_watts(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CpuTimeEstimator(**kwargs)


def test_estimator_window_errors() -> None:
    est = CpuTimeEstimator()
    with pytest.raises(ValueError, match="no such window"):
        est.end("nope")
    est.begin("a")
    with pytest.raises(ValueError, match="already open"):
        est.begin("a")


# --- Zeus, on a faked NVML and RAPL -------------------------------------------------------------------------------
class _FakeGPUs:
    """Stands in for Zeus's NVIDIAGPUs: energy counters in mJ that the test advances."""

    def __init__(self, n: int) -> None:
        self.mj = [0] * n

    def __len__(self) -> int:
        return len(self.mj)

    def supports_get_total_energy_consumption(self, index: int) -> bool:
        return True

    def get_total_energy_consumption(self, index: int) -> int:
        return self.mj[index]

    def get_instant_power_usage(self, index: int) -> int:
        return 0


class _FakeCPUs:
    def __init__(self) -> None:
        self.cpu_mj = 0.0
        self.dram_mj = 0.0
        self.nvml_mj: dict[int, int] = {}  # the fake NVML's GPU counters, where a test has one (fake_nvml)

    def __len__(self) -> int:
        return 1

    def get_total_energy_consumption(self, index: int) -> Any:
        from zeus.device.cpu.common import CpuDramMeasurement

        return CpuDramMeasurement(cpu_mj=self.cpu_mj, dram_mj=self.dram_mj)


@pytest.fixture
def fake_zeus(monkeypatch: pytest.MonkeyPatch) -> tuple[_FakeGPUs, _FakeCPUs]:
    from zeus.monitor import energy as zeus_energy

    gpus, cpus = _FakeGPUs(2), _FakeCPUs()
    monkeypatch.setattr(zeus_energy, "get_gpus", lambda: gpus)
    monkeypatch.setattr(zeus_energy, "get_cpus", lambda: cpus)
    monkeypatch.setattr(zeus_energy, "sync_execution_fn", lambda *a, **k: None)  # no CUDA to synchronise here
    return gpus, cpus


def test_zeus_meter_reads_only_its_gpu_and_rapl(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    gpus, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[1], read_cpu=True)
    assert meter.source == "measured: zeus/nvml+rapl"
    assert meter.update_period_s == pytest.approx(0.1)
    meter.begin("loop")
    gpus.mj[0] += 999_000  # another process's GPU: must not be counted
    gpus.mj[1] += 12_500
    cpus.cpu_mj += 3_000
    cpus.dram_mj += 500
    m = meter.end("loop")
    assert m.gpu_j == {1: pytest.approx(12.5)}
    assert m.cpu_j == pytest.approx(3.0)
    assert m.dram_j == pytest.approx(0.5)
    assert m.total_j == pytest.approx(16.0)
    assert m.source == "measured: zeus/nvml+rapl"


def test_auto_refuses_a_bad_wattage_where_zeus_finds_counters(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    # It was checked only where "auto" fell back to the estimate: a config with watts_per_thread=-1 ran on a GPU
    # node and failed on the first CPU-only one.
    meter, _ = make_meter("auto", gpu_indices=[0])
    assert isinstance(meter, ZeusMeter)
    with pytest.raises(ValueError, match=r"^CpuTimeEstimator\(watts_per_thread=-1\): expected a finite number"):
        make_meter("auto", gpu_indices=[0], watts_per_thread=-1)


def test_the_label_says_whether_rapl_read_the_memory_too(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node with RAPL's DRAM zone (Intel servers) beside one without (AMD, client CPUs): the same label made
    figures with and without the memory's joules one frontier, and the one that counts less won."""
    from lightning_ecopt.energy.measurement import zeus_counters

    _, cpus = fake_zeus
    monkeypatch.setattr(cpus, "supports_get_dram_energy_consumption", lambda index: True, raising=False)
    with_dram = ZeusMeter(gpu_indices=[0], read_cpu=True)
    assert with_dram.source == "measured: zeus/nvml+rapl+dram"
    covered, _ = make_meter("auto", gpu_indices=[], read_cpu=False)  # local rank 1: rank 0's counters, named alike
    assert covered.source == "measured: zeus/rapl+dram"
    monkeypatch.setattr(cpus, "supports_get_dram_energy_consumption", lambda index: False, raising=False)
    without = ZeusMeter(gpu_indices=[0], read_cpu=True)
    assert without.source == "measured: zeus/nvml+rapl"
    assert zeus_counters(with_dram.source) != zeus_counters(without.source)  # so a sweep refuses to mix them
    assert ZeusMeter(gpu_indices=[0], read_cpu=False).source == "measured: zeus/nvml"  # no RAPL read: no DRAM
    assert ZeusMeter(gpu_indices=[0], read_cpu=np.False_).read_cpu is False  # numpy's bool is a bool (review)


def test_zeus_meter_without_cpu_is_nvml_only(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    gpus, _ = fake_zeus
    meter = ZeusMeter(gpu_indices=[0], read_cpu=False)
    meter.begin("w")
    gpus.mj[0] += 2_000
    m = meter.end("w")
    assert (m.gpu_j, m.cpu_j, m.dram_j, m.source) == ({0: 2.0}, None, None, "measured: zeus/nvml")


def test_a_rapl_only_meter_times_batches_of_a_few_milliseconds_on_their_own(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs],
) -> None:
    """Mutation survivor: only NVML's 0.1 s period was checked. RAPL updates every millisecond, so a CPU job's 20 ms
    batches get a window each, and sub-millisecond ones share the loop's joules."""
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    assert meter.source == "measured: zeus/rapl"
    assert choose_per_batch_mode([5.0, 0.02, 0.02], meter.update_period_s) == "window"
    assert choose_per_batch_mode([5.0, 0.0005, 0.0005], meter.update_period_s) == "split"


def test_the_meter_logs_the_gpus_it_measures_and_no_other(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], caplog: pytest.LogCaptureFixture
) -> None:
    """Mutation survivor: the GPUs a meter without an SoC measures (logged when it starts) were never read back."""
    meter = ZeusMeter(gpu_indices=[1], read_cpu=True)
    assert meter.probe.measured_gpus == (1,)
    with caplog.at_level("INFO", logger="lightning_ecopt.energy.zeus"):
        meter.begin("w")
    assert "ZeusMeter: measuring with measured: zeus/nvml+rapl (GPUs [1])" in caplog.text


def test_zeus_finds_nothing_here_and_says_why() -> None:
    """This machine (and CI) has no NVIDIA driver and no RAPL: Zeus would return 0 J silently; we refuse."""
    probe = probe_zeus([0], read_cpu=True)
    if probe.found:
        pytest.skip("this machine has energy counters")
    assert any("NVML" in p or "GPU" in p for p in probe.problems)
    assert any("RAPL" in p for p in probe.problems)
    with pytest.raises(EnergyMeterError, match=r"found no energy counter.*RAPL.*zeusd"):
        make_meter("zeus", gpu_indices=[0])
    meter, why = make_meter("auto", gpu_indices=[0])
    assert isinstance(meter, CpuTimeEstimator)
    assert why is not None
    assert "ESTIMATED" in why
    assert "RAPL" in why
    # The process computes on GPU 0: the estimate of its CPU time leaves that GPU's joules out, and says so.
    assert "covers the CPU only: GPU 0's energy is left out" in why
    _, why = make_meter("auto", gpu_indices=[])
    assert why is not None
    assert "left out" not in why


def test_a_zeus_meter_with_no_counter_has_no_measured_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain-PyTorch review: ``ZeusMeter().source`` on a machine with no counter read ``'measured: zeus/'``, a
    measured label naming no counter; an EnergyCallback given that meter took it too. It now refuses, as ``begin``
    does, saying what is missing."""
    problems = ("no GPU in use by this process", "no RAPL counters")
    monkeypatch.setattr("lightning_ecopt.energy.zeus.probe_zeus", lambda *a, **k: ZeusProbe(problems=problems))
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    with pytest.raises(EnergyMeterError, match=r"found no energy counter to read: no GPU .*no RAPL counters.*zeusd"):
        _ = meter.source
    with pytest.raises(EnergyMeterError, match="found no energy counter"):
        meter.begin("w")
    from lightning_ecopt.callbacks import EnergyCallback

    with pytest.raises(EnergyMeterError, match="found no energy counter"):  # when built, not at the test loop's start
        EnergyCallback(meter=meter)


@pytest.mark.parametrize("users_level", [logging.NOTSET, logging.DEBUG])
def test_zeus_s_own_notes_are_quieted_unless_the_user_set_its_level(users_level: int) -> None:
    """Looking for counters raised Zeus's logger to WARNING for good, also where the user had set it to DEBUG to see
    what Zeus does (hostile-environment review); an unset one is still raised, under a root logger at DEBUG too."""
    zeus_log, root = logging.getLogger("zeus"), logging.getLogger()
    saved = zeus_log.level, root.level
    zeus_log.setLevel(users_level)
    root.setLevel(logging.DEBUG)
    try:
        probe_zeus(gpu_indices=[], read_cpu=True)
        assert zeus_log.level == (logging.WARNING if users_level == logging.NOTSET else logging.DEBUG)
    finally:
        zeus_log.setLevel(saved[0])
        root.setLevel(saved[1])


def test_a_loop_s_figures_read_whole_however_many_batches_it_measured() -> None:
    """Notebook review: showing `callback.results` printed every batch's joules (61 floats a loop there; thousands
    for a real test set). They stay on the object, read by name."""
    batches = tuple(0.001 * i for i in range(10_000))
    e = LoopEnergy("test", "estimated: cpu-time", time_s=20.0, gpu_j=None, cpu_j=10.0, dram_j=None, samples=80_000,
                   batches=10_000, tokens=None, warmup_batches=3, warmup_j=0.1, per_batch_mode="window",
                   batch_j=batches)  # fmt: skip
    assert len(repr(e)) < 1_000
    assert "samples=80000" in repr(e)
    assert e.batch_j == batches


def test_auto_prefers_zeus_when_it_finds_counters(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    meter, why = make_meter("auto", gpu_indices=[0])
    assert isinstance(meter, ZeusMeter)
    assert why is None
    assert meter.source == "measured: zeus/nvml+rapl"


def test_a_gpu_zeus_cannot_read_is_never_left_out_silently(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RAPL readable, NVML not: the model's GPU would be missing from figures labelled measured."""
    from zeus.device.gpu.common import ZeusGPUInitError
    from zeus.monitor import energy as zeus_energy

    def no_nvml() -> Any:
        raise ZeusGPUInitError("NVML Shared Library Not Found")

    monkeypatch.setattr(zeus_energy, "get_gpus", no_nvml)
    meter, why = make_meter("auto", gpu_indices=[0])
    assert isinstance(meter, ZeusMeter)
    assert meter.source == "measured: zeus/rapl"
    assert why is not None
    assert "cannot read the energy of GPU 0" in why
    assert "MEASURED for the CPU only" in why  # this RAPL has no DRAM zone: it is not said to be read
    _, cpus = fake_zeus
    meter.begin("loop")
    cpus.cpu_mj += 3_000
    assert meter.end("loop").gpu_j == {}  # what "leaves that GPU out" means
    with pytest.raises(EnergyMeterError, match=r"computes on GPU 0, but Zeus cannot read its energy \(no GPU counters"):
        make_meter("zeus", gpu_indices=[0])
    # A process on the CPU asks for no GPU: RAPL alone is the whole story, nothing to warn about.
    assert make_meter("auto", gpu_indices=[])[1] is None


def test_a_gpu_listed_whose_counter_says_not_supported_is_no_counter(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vGPU guest: NVML lists the GPU and Zeus judges it by its architecture, then the read says "Not Supported".

    It passed the probe and failed the first window, in the middle of a test loop, with Zeus's bare error.
    """
    from zeus.device.cpu.common import ZeusBaseCPUError
    from zeus.device.gpu.common import ZeusGPUNotSupportedError
    from zeus.monitor import energy as zeus_energy

    gpus, _ = fake_zeus

    def not_supported(index: int) -> int:
        raise ZeusGPUNotSupportedError("Not Supported")

    monkeypatch.setattr(gpus, "get_total_energy_consumption", not_supported)
    probe = probe_zeus([0], read_cpu=True)
    assert probe.gpu_indices == ()
    assert any("lists GPU 0 but cannot read its energy or power (Not Supported)" in p for p in probe.problems)
    meter, why = make_meter("auto", gpu_indices=[0])  # RAPL readable: measured, the GPU left out, said so
    assert isinstance(meter, ZeusMeter)
    assert meter.source == "measured: zeus/rapl"
    assert why is not None
    assert "Not Supported" in why
    with pytest.raises(EnergyMeterError, match="cannot read its energy"):
        make_meter("zeus", gpu_indices=[0])

    def no_rapl() -> Any:
        raise ZeusBaseCPUError("no RAPL")

    monkeypatch.setattr(zeus_energy, "get_cpus", no_rapl)
    meter, why = make_meter("auto", gpu_indices=[0])  # nothing readable: the labelled estimate
    assert isinstance(meter, CpuTimeEstimator)
    assert why is not None
    assert "Not Supported" in why
    assert "ESTIMATED" in why


def test_a_second_process_on_a_cpu_node_reads_nothing_that_the_first_reads(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs],
) -> None:
    """Local rank 1 without a GPU: rank 0's package-wide RAPL holds its work; an estimate added to it counts twice."""
    for name in ("auto", "zeus"):
        meter, why = make_meter(name, gpu_indices=[], read_cpu=False)
        assert isinstance(meter, CoveredElsewhere)
        assert why is None
        meter.begin("loop")
        m = meter.end("loop")
        assert (m.gpu_total_j, m.cpu_j, m.dram_j, m.source) == (0.0, None, None, "measured: zeus/rapl")
    first, _ = make_meter("auto", gpu_indices=[], read_cpu=True)  # local rank 0 reads the package
    assert isinstance(first, ZeusMeter)


def test_a_covered_process_reports_its_windows_wall_time() -> None:
    """No joules, but the window's own duration: the loop's time (the slowest rank's, the short flag) reads it."""
    meter = CoveredElsewhere("measured: zeus/rapl", 0.001)
    meter.begin("w")
    time.sleep(0.05)
    m = meter.end("w")
    assert 0.05 <= m.time_s < 1.0


def test_zeus_counters_are_named_only_for_a_zeus_meters_label() -> None:
    """A sweep compares the counters of two Zeus labels; another meter's label, or an estimate, names none."""
    from lightning_ecopt.energy.measurement import zeus_counters

    assert zeus_counters("Measured: Zeus/NVML+RAPL") == "nvml+rapl"  # case is not part of the label
    assert zeus_counters("measured: mymeter/rapl") is None  # measured, by another meter
    assert zeus_counters("estimated: zeus/nvml") is None  # not measured


def test_a_second_process_estimates_where_the_first_estimates() -> None:
    if probe_zeus([], read_cpu=True).cpu:
        pytest.skip("RAPL is readable on this machine")
    meter, why = make_meter("auto", gpu_indices=[], read_cpu=False)
    assert isinstance(meter, CpuTimeEstimator)  # each process estimates its own CPU time: the sum is right
    assert why is not None


def test_make_meter_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="meter='nvml': unknown meter; choose from 'auto', 'zeus', 'estimate'"):
        make_meter("nvml")
    with pytest.raises(TypeError, match="EnergyMeter protocol"):
        make_meter(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gpu_indices"):
        ZeusMeter(gpu_indices=[-1])
    # Before: TypeError: 'NoneType' object is not iterable (ZeusMeter takes None; make_meter's default is ()).
    with pytest.raises(TypeError, match=r"^make_meter\(gpu_indices=None\): expected a list of the CUDA device"):
        make_meter("auto", gpu_indices=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^make_meter\(gpu_indices=0\): expected a list"):
        make_meter("zeus", gpu_indices=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^make_meter\(gpu_indices=\[-1\]\): expected CUDA device indices >= 0"):
        make_meter("auto", gpu_indices=[-1])
    # Before: TypeError: 'int' object is not iterable; read_cpu='no' (a string, so true) was accepted.
    with pytest.raises(
        TypeError, match=r"^ZeusMeter\(gpu_indices=0\): expected a list of CUDA device indices, e\.g\. \[0\]"
    ):
        ZeusMeter(gpu_indices=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"gpu_indices=\[True\]\): expected CUDA device indices >= 0"):
        ZeusMeter(gpu_indices=[True])
    with pytest.raises(TypeError, match=r"^ZeusMeter\(read_cpu='no'\): expected True or False\.$"):
        ZeusMeter(read_cpu="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^ZeusMeter\(approx_instant_energy=1\): expected True or False\.$"):
        ZeusMeter(approx_instant_energy=1)  # type: ignore[arg-type]


def test_loop_energy_figures() -> None:
    e = LoopEnergy(
        "test",
        "measured: x",
        time_s=2.0,
        gpu_j=6.0,
        cpu_j=3.0,
        dram_j=1.0,
        samples=50,
        batches=5,
        tokens=200,
        per_batch_mode="window",
        batch_j=(1.0, 3.0),
    )
    m = e.metrics()
    assert m["energy/test_j"] == 10.0
    assert m["energy/test_samples_per_j"] == 5.0
    assert m["energy/test_j_per_sample"] == 0.2
    assert m["energy/test_j_per_batch"] == 2.0  # mean of the per-batch windows, not 10 J / 5
    assert m["energy/test_tokens_per_j"] == 20.0
    assert m["energy/test_power_w"] == 5.0
    zero = LoopEnergy("test", "measured: x", time_s=1.0, gpu_j=0.0, cpu_j=None, dram_j=None, samples=5, batches=1)
    assert math.isnan(zero.samples_per_j)
    assert "energy/test_cpu_j" not in zero.metrics()  # never a made-up 0 J for an unread domain


@pytest.mark.parametrize(
    ("durations", "period", "mode"),
    [
        ([], 0.1, "split"),
        ([0.05, 0.06, 2.0], 0.1, "split"),
        ([1.0, 1.1], 0.1, "window"),
        ([0.002, 0.002, 0.003], 1e-4, "window"),
        # The first batch pays the cold start (lazy init, cuDNN autotuning, torch.compile: 10-60 s on a GPU): alone or
        # beside one fast batch it chose per-batch windows, a ~4 ms NVML read in every 2 ms batch (97 against 385
        # samples/J on an H100). With one warm-up batch there is nothing else to judge by.
        ([30.0, 0.002], 0.1, "split"),
        ([2.2, 0.003, 0.002], 0.1, "split"),
        ([0.002], 1e-4, "split"),
        # Ten counter periods (a counter step is at most 10 % of the window): exactly ten is enough, 9.5 is not.
        ([5.0, 1.0], 0.1, "window"),
        ([5.0, 0.95], 0.1, "split"),
    ],
)
def test_per_batch_rule(durations: list[float], period: float, mode: str) -> None:
    assert choose_per_batch_mode(durations, period) == mode


def test_loop_energy_metrics_are_exactly_the_documented_figures() -> None:
    e = LoopEnergy(
        "test",
        "measured: x",
        2.0,
        gpu_j=6.0,
        cpu_j=3.0,
        dram_j=1.0,
        samples=50,
        batches=5,
        tokens=200,
        warmup_j=0.5,
        per_batch_mode="window",
        batch_j=(1.0, 3.0),
        short=True,
        cpu_contention=0.25,
        in_fit=False,
    )
    assert e.metrics() == {
        "energy/test_j": 10.0,
        "energy/test_time_s": 2.0,
        "energy/test_power_w": 5.0,
        "energy/test_samples": 50.0,
        "energy/test_samples_per_j": 5.0,
        "energy/test_j_per_sample": 0.2,
        "energy/test_j_per_batch": 2.0,
        "energy/test_warmup_j": 0.5,
        "energy/test_short_window": 1.0,
        "energy/test_gpu_j": 6.0,
        "energy/test_cpu_j": 3.0,
        "energy/test_dram_j": 1.0,
        "energy/test_tokens": 200.0,
        "energy/test_tokens_per_j": 20.0,
        "energy/test_cpu_contention": 0.25,
        "energy/test_in_fit": 0.0,
    }
    # Left out: the domains no counter read, tokens not counted, contention unknown, a loop that is no validate.
    bare = LoopEnergy("predict", "estimated: cpu-time", 4.0, gpu_j=None, cpu_j=8.0, dram_j=None, samples=4, batches=2)
    assert bare.warmup_batches == 0
    assert bare.metrics() == {
        "energy/predict_j": 8.0,
        "energy/predict_time_s": 4.0,
        "energy/predict_power_w": 2.0,
        "energy/predict_samples": 4.0,
        "energy/predict_samples_per_j": 0.5,
        "energy/predict_j_per_sample": 2.0,
        "energy/predict_j_per_batch": 4.0,
        "energy/predict_warmup_j": 0.0,
        "energy/predict_short_window": 0.0,
        "energy/predict_cpu_j": 8.0,
    }


def test_a_loop_cut_short_and_a_training_loop_count_their_warmup_and_nothing_else() -> None:
    # Built as EnergyCallback builds an aborted window (no warm-up given: 0 J of it), and with a warm-up.
    aborted = LoopEnergy(
        "test", "measured: x", 1.5, gpu_j=2.0, cpu_j=None, dram_j=None, samples=0, batches=0, aborted=True
    )
    assert aborted.metrics() == {"energy/test_aborted_j": 2.0, "energy/test_aborted_time_s": 1.5}
    aborted = dataclasses.replace(aborted, warmup_j=0.5)
    assert aborted.metrics() == {"energy/test_aborted_j": 2.5, "energy/test_aborted_time_s": 1.5}
    train = LoopEnergy("train", "measured: x", 9.0, gpu_j=30.0, cpu_j=None, dram_j=None, samples=10, batches=2)
    assert train.metrics() == {"energy/train_j": 30.0, "energy/train_time_s": 9.0}
    assert dataclasses.replace(train, warmup_j=4.0).metrics() == {"energy/train_j": 34.0, "energy/train_time_s": 9.0}


def test_j_per_batch_follows_the_per_batch_mode() -> None:
    base = LoopEnergy("test", "measured: x", 1.0, gpu_j=12.0, cpu_j=None, dram_j=None, samples=8, batches=4)
    window = dataclasses.replace(base, per_batch_mode="window", batch_j=(1.0, 2.0))
    assert window.j_per_batch == 1.5  # this rank's windows
    assert dataclasses.replace(window, batch_mean_j=2.5).j_per_batch == 2.5  # every rank's mean wins
    # Split: the loop's joules over its batches, whatever windows or means are at hand.
    assert dataclasses.replace(base, batch_j=(1.0, 2.0), batch_mean_j=2.5).j_per_batch == 3.0
    assert dataclasses.replace(base, per_batch_mode="window").j_per_batch == 3.0  # window mode without windows


def test_a_loop_that_read_no_energy_has_nan_figures_and_a_loop_without_batches_no_division_by_zero() -> None:
    zero = LoopEnergy("test", "measured: x", 1.0, gpu_j=0.0, cpu_j=None, dram_j=None, samples=5, batches=1, tokens=9)
    for figure in (zero.power_w, zero.samples_per_j, zero.j_per_sample, zero.j_per_batch, zero.tokens_per_j):
        assert isinstance(figure, float)  # never None
        assert math.isnan(figure)  # never 0 J per sample
    empty = LoopEnergy("test", "measured: x", 0.0, gpu_j=3.0, cpu_j=None, dram_j=None, samples=0, batches=0)
    assert empty.samples_per_j == 0.0
    assert math.isnan(empty.j_per_sample)
    assert math.isnan(empty.j_per_batch)
    assert math.isnan(empty.power_w)


def test_a_loop_that_read_under_a_joule_has_its_figures() -> None:
    """A small model's test loop or a short CPU-time estimate reads a fraction of a joule: a reading, not "no
    energy" (only 0 J or less, or an infinite figure, is none)."""
    e = LoopEnergy("test", "estimated: cpu-time", 0.5, gpu_j=None, cpu_j=0.25, dram_j=None, samples=100, batches=4)
    assert e.energy_read
    assert (e.samples_per_j, e.j_per_sample, e.j_per_batch, e.power_w) == pytest.approx((400.0, 0.0025, 0.0625, 0.5))


def test_per_batch_windows_need_at_least_the_minimum_periods() -> None:
    # Exactly PER_BATCH_MIN_PERIODS periods is enough ("at least"); a hair less is not.
    period = 0.125  # a power of two: 10 periods is exactly 1.25 s
    assert choose_per_batch_mode([5.0, PER_BATCH_MIN_PERIODS * period], period) == "window"
    assert choose_per_batch_mode([5.0, PER_BATCH_MIN_PERIODS * period * 0.999], period) == "split"
    # The slowest batch does not decide: the fastest does.
    assert choose_per_batch_mode([5.0, 5.0, 1.0], period) == "split"


def test_zeus_meter_readings_match_a_window(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """One reading per batch boundary: the joules between two readings are what a window over them reads."""
    gpus, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[1], read_cpu=True)
    assert meter.reads_counters
    a = meter.read()
    meter.begin("w")
    gpus.mj[0] += 999_000  # not this process's GPU
    gpus.mj[1] += 12_500
    cpus.cpu_mj += 3_000
    cpus.dram_mj += 500
    b = meter.read()
    assert meter.joules_between(a, b) == pytest.approx(meter.end("w").total_j) == pytest.approx(16.0)
    cpus.cpu_mj -= 10_000  # RAPL wrapped around unnoticed: never a negative figure
    assert math.isnan(meter.joules_between(b, meter.read()))


def test_callback_uses_zeus_readings_for_per_batch_windows(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """With Zeus, per-batch windows come from one reading per batch, and together they cover the measured loop."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.demos.boring_classes import BoringModel

    from lightning_ecopt import EnergyCallback

    gpus, _ = fake_zeus

    class Burn(BoringModel):
        def test_step(self, batch: Any, batch_idx: int) -> None:
            gpus.mj[0] += 1_000 * (batch_idx + 1)  # batch i spends i + 1 joules

    meter = ZeusMeter(gpu_indices=[0], read_cpu=False)
    windows: list[str] = []
    begin = meter.begin
    meter.begin = lambda name: (windows.append(name), begin(name))[1]  # type: ignore[method-assign]
    cb = EnergyCallback(meter=meter, per_batch="window", warmup_batches=1, log_model_stats=False, min_duration_s=0)
    Trainer(callbacks=[cb], logger=False, enable_progress_bar=False, limit_test_batches=5).test(Burn(), verbose=False)
    r = cb.results["test"]
    assert r.batch_j == pytest.approx((2.0, 3.0, 4.0, 5.0))
    assert r.gpu_j == pytest.approx(14.0)
    assert "test/batch" not in windows  # no window per batch: readings


def test_gpus_without_an_energy_counter_keep_zeus_windows(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pre-Volta GPUs have no energy counter (Zeus integrates their power): per-batch windows stay Zeus windows."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.demos.boring_classes import BoringModel
    from zeus.monitor import energy as zeus_energy

    from lightning_ecopt import EnergyCallback

    class _PowerMonitor:  # Zeus's power sampler for such GPUs: 1 J per window here
        def __init__(self, gpu_indices: list[int], update_period: float | None) -> None:
            self.gpu_indices = gpu_indices

        def get_energy(self, start: float, end: float) -> dict[int, float]:
            return dict.fromkeys(self.gpu_indices, 1.0)

    monkeypatch.setattr(zeus_energy, "PowerMonitor", _PowerMonitor)
    gpus, _ = fake_zeus
    gpus.supports_get_total_energy_consumption = lambda index: False  # type: ignore[method-assign]
    meter = ZeusMeter(gpu_indices=[0], read_cpu=True)
    assert not meter.reads_counters
    windows: list[str] = []
    begin = meter.begin
    meter.begin = lambda name: (windows.append(name), begin(name))[1]  # type: ignore[method-assign]
    cb = EnergyCallback(meter=meter, per_batch="window", warmup_batches=1, log_model_stats=False, min_duration_s=0)
    Trainer(callbacks=[cb], logger=False, enable_progress_bar=False, limit_test_batches=4).test(
        BoringModel(), verbose=False
    )
    assert windows.count("test/batch") == 3
    assert cb.results["test"].batch_j == pytest.approx((1.0, 1.0, 1.0))


def test_cpu_contention_counts_other_processes_not_this_process_tree() -> None:
    import subprocess
    import sys
    import time

    from lightning_ecopt.energy.contention import cpu_snapshot, others_share

    first = cpu_snapshot()
    if first is None:
        pytest.skip("no /proc: contention is unknown here")
    one_core = 1.0 / first.n_cpus  # what one busy process adds to the share
    spin = "import time\nt = time.time()\nwhile time.time() - t < 1.2: pass"

    def share_during(command: list[str] | None) -> float:
        start = cpu_snapshot()
        proc = None if command is None else subprocess.Popen(command)
        time.sleep(1.0)
        share = others_share(start, cpu_snapshot())
        if proc is not None:
            proc.wait()
        time.sleep(0.3)  # whatever it started has finished
        assert share is not None
        return share

    # The machine's other load moves all three readings from one second to the next (a CI runner shares its
    # cores), so a reading that other load spoiled is taken again, up to three times. An implementation that
    # counts the child as contention, or misses the other process, fails every attempt: the spinner adds a whole
    # core each time, against a margin of half of one.
    readings: list[tuple[float, float, float]] = []
    for _ in range(3):
        idle = share_during(None)
        # A child of this process (a DataLoader worker, say) is this job's work, not contention.
        child = share_during([sys.executable, "-c", spin])
        # A process that is not ours: started by a shell that exits at once, so it is re-parented away from us.
        other = share_during(["sh", "-c", f"{sys.executable} -c '{spin}' & exit 0"])
        readings.append((idle, child, other))
        if child < idle + 0.5 * one_core and other > child + 0.5 * one_core:
            break
    else:
        pytest.fail(f"(idle, child, other) shares {readings}: one core is {one_core:.2f}")


def test_cpu_time_a_live_descendant_reaped_from_its_own_children_stays_this_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child (a DDP rank under Lightning's subprocess launcher) that reaps its own DataLoader worker keeps that
    worker's CPU time in its cutime: it is still this job's, not another process's."""
    import dataclasses

    from lightning_ecopt.energy import contention

    me, child, worker = os.getpid(), 900001, 900002

    def lay(busy: int, worker_alive: bool, child_cutime: int) -> None:
        shutil.rmtree(tmp_path / "proc", ignore_errors=True)
        (tmp_path / "proc").mkdir()
        cpus = "cpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n"
        (tmp_path / "proc" / "stat").write_text(f"cpu  {busy} 0 0 10000 0 0 0 0 0 0\n{cpus}")
        tree = [(me, 1, 100, 0, [child]), (child, me, 0, child_cutime, [worker] if worker_alive else [])]
        for pid, ppid, utime, cutime, kids in tree + ([(worker, child, 30, 0, [])] if worker_alive else []):
            task = tmp_path / "proc" / str(pid) / "task" / str(pid)
            task.mkdir(parents=True)
            stat = f"{pid} (py thon) S {ppid} 1 1 0 -1 0 0 0 0 0 {utime} 0 {cutime} 0 20 0 1 0 0\n"
            (tmp_path / "proc" / str(pid) / "stat").write_text(stat)
            (task / "children").write_text(" ".join(map(str, kids)))

    monkeypatch.setattr(contention, "_PROC", tmp_path / "proc")
    lay(busy=1000, worker_alive=True, child_cutime=0)  # the worker has used 30 ticks
    start = contention.cpu_snapshot()
    lay(busy=1030, worker_alive=False, child_cutime=60)  # 30 more, then it exited and the child reaped it
    end = contention.cpu_snapshot()
    assert start is not None
    assert end is not None
    assert end.own_s - start.own_s == pytest.approx(0.30)  # the machine's 30 busy ticks were all this job's
    assert contention.others_share(start, dataclasses.replace(end, wall_s=start.wall_s + 1.0)) == pytest.approx(0.0)


def test_cpu_contention_over_the_cpus_this_process_may_use_leaves_the_other_cpus_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job given CPU 0 of two (a SLURM cpuset, taskset): another job busy on CPU 1 does not slow it. Counted over
    the machine it read as 50 % contention, flagging every CPU-time estimate on a shared node."""
    import dataclasses

    from lightning_ecopt.energy import contention

    me = os.getpid()

    def lay(cpu0_busy: int, cpu1_busy: int, own: int) -> None:
        shutil.rmtree(tmp_path / "proc", ignore_errors=True)
        (tmp_path / "proc" / str(me) / "task" / str(me)).mkdir(parents=True)
        total = cpu0_busy + cpu1_busy
        (tmp_path / "proc" / "stat").write_text(
            f"cpu  {total} 0 0 10000 0 0 0 0 0 0\ncpu0 {cpu0_busy} 0 0 5000 0 0 0 0 0 0\n"
            f"cpu1 {cpu1_busy} 0 0 5000 0 0 0 0 0 0\n"
        )
        (tmp_path / "proc" / str(me) / "stat").write_text(f"{me} (py) S 1 1 1 0 -1 0 0 0 0 0 {own} 0 0 0 20 0 1 0 0\n")
        (tmp_path / "proc" / str(me) / "task" / str(me) / "children").write_text("")

    monkeypatch.setattr(contention, "_PROC", tmp_path / "proc")
    shares = {}
    for cpus in (None, frozenset({0})):
        lay(cpu0_busy=1000, cpu1_busy=1000, own=500)
        start = contention.cpu_snapshot(cpus)
        lay(cpu0_busy=1100, cpu1_busy=1100, own=600)  # 1 s: CPU 0 busy with this job, CPU 1 with another
        end = contention.cpu_snapshot(cpus)
        assert start is not None
        assert end is not None
        assert end.n_cpus == (2 if cpus is None else 1)
        shares[cpus] = contention.others_share(start, dataclasses.replace(end, wall_s=start.wall_s + 1.0))
    assert shares == {None: pytest.approx(0.5), frozenset({0}): pytest.approx(0.0)}
    # CPUs /proc/stat does not list as numbered (LXCFS renumbers a container's from 0): its total line, not nothing
    lay(cpu0_busy=1000, cpu1_busy=1000, own=500)
    renumbered = contention.cpu_snapshot(frozenset({7}))
    assert renumbered is not None
    assert (renumbered.n_cpus, renumbered.busy_s) == (2, 20.0)
    assert contention.allowed_cpus() == frozenset(os.sched_getaffinity(0))


def test_cpu_contention_is_reported_from_windows_of_0_2_s_as_the_shipped_examples_measure() -> None:
    """The demos' windows last 0.2-0.4 s (``min_duration_s: 0.2``): their contention is known, shorter is not."""
    from lightning_ecopt.energy.contention import CpuSnapshot, others_share

    start = CpuSnapshot(wall_s=0.0, busy_s=100.0, own_s=10.0, n_cpus=2)
    assert others_share(start, CpuSnapshot(wall_s=0.21, busy_s=100.3, own_s=10.1, n_cpus=2)) == pytest.approx(
        0.2 / 0.42
    )
    assert others_share(start, CpuSnapshot(wall_s=0.15, busy_s=100.3, own_s=10.1, n_cpus=2)) is None


def test_cpu_contention_counts_cpus_waiting_on_io_as_idle_and_a_hypervisors_steal_as_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/proc/stat``'s iowait is idle time (a DataLoader waiting on a disk keeps no CPU busy), steal is another
    virtual machine's work on the host, and a guest's time is already inside user: read otherwise, a job reading
    from a slow disk would flag itself as contended."""
    from lightning_ecopt.energy import contention

    me = os.getpid()

    def lay(user: int, iowait: int, steal: int, guest: int) -> None:
        shutil.rmtree(tmp_path / "proc", ignore_errors=True)
        (tmp_path / "proc" / str(me) / "task" / str(me)).mkdir(parents=True)
        # user nice system idle iowait irq softirq steal guest guest_nice
        row = f"{user} 0 0 5000 {iowait} 0 0 {steal} {guest} 0"
        (tmp_path / "proc" / "stat").write_text(f"cpu  {row}\ncpu0 {row}\ncpu1 0 0 0 5000 0 0 0 0 0 0\n")
        (tmp_path / "proc" / str(me) / "stat").write_text(f"{me} (py) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0\n")
        (tmp_path / "proc" / str(me) / "task" / str(me) / "children").write_text("")

    monkeypatch.setattr(contention, "_PROC", tmp_path / "proc")
    lay(user=1000, iowait=200, steal=10, guest=400)
    start = contention.cpu_snapshot()
    # 1 s on 2 CPUs: 100 ticks waiting on I/O, 50 stolen, 30 of a guest's (counted in user too)
    lay(user=1030, iowait=300, steal=60, guest=430)
    end = contention.cpu_snapshot()
    assert start is not None
    assert end is not None
    assert end.busy_s - start.busy_s == pytest.approx(0.8)
    assert contention.others_share(start, dataclasses.replace(end, wall_s=start.wall_s + 1.0)) == pytest.approx(0.4)


def test_cpu_contention_of_a_window_of_20_ticks_is_known_wherever_on_the_clock_it_starts() -> None:
    """MIN_WINDOW_TICKS: 0.2 s (20 ticks of 10 ms) is resolved, 0.199 s is not, also for a window that starts
    long after the clock's 0 (as ``time.perf_counter()`` windows do)."""
    from lightning_ecopt.energy.contention import CpuSnapshot, others_share

    start = CpuSnapshot(wall_s=1000.0, busy_s=100.0, own_s=10.0, n_cpus=2)
    resolved = others_share(start, CpuSnapshot(wall_s=1000.2, busy_s=100.3, own_s=10.1, n_cpus=2))
    assert resolved == pytest.approx(0.2 / 0.4)
    assert others_share(start, CpuSnapshot(wall_s=1000.199, busy_s=100.3, own_s=10.1, n_cpus=2)) is None


def test_cpu_contention_from_real_snapshots_needs_a_window_of_20_clock_ticks() -> None:
    """The shortest window is counted in this machine's clock ticks (``SC_CLK_TCK``), the counters' resolution."""
    from lightning_ecopt.energy.contention import MIN_WINDOW_TICKS, cpu_snapshot, others_share

    start = cpu_snapshot()
    if start is None:
        pytest.skip("no /proc: contention is unknown here")
    end = cpu_snapshot()
    assert end is not None
    shortest_s = MIN_WINDOW_TICKS / os.sysconf("SC_CLK_TCK")
    assert others_share(start, dataclasses.replace(end, wall_s=start.wall_s + 0.75 * shortest_s)) is None
    assert others_share(start, dataclasses.replace(end, wall_s=start.wall_s + 1.25 * shortest_s)) is not None


def test_cpu_contention_is_a_share_between_0_and_1_whatever_the_counters_read() -> None:
    """``/proc`` counts whole ticks, read at slightly different instants: a window can read more busy time than its
    CPUs had, or more of this job's time than the machine's busy time. Neither is a share."""
    from lightning_ecopt.energy.contention import CpuSnapshot, others_share

    start = CpuSnapshot(wall_s=0.0, busy_s=100.0, own_s=10.0, n_cpus=2)
    assert others_share(start, CpuSnapshot(wall_s=1.0, busy_s=105.0, own_s=10.0, n_cpus=2)) == 1.0
    assert others_share(start, CpuSnapshot(wall_s=1.0, busy_s=101.0, own_s=11.5, n_cpus=2)) == 0.0


def test_allowed_cpus_are_this_processs_own_affinity() -> None:
    """A process pinned to one CPU (``taskset``, a SLURM cpuset) is told that CPU, not the machine's, nor another
    process's affinity."""
    from lightning_ecopt.energy.contention import allowed_cpus

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    mine = os.sched_getaffinity(0)
    if len(mine) < 2:
        pytest.skip("one CPU: pinning to one changes nothing")
    one = min(mine)
    os.sched_setaffinity(0, {one})
    try:
        assert allowed_cpus() == frozenset({one})
    finally:
        os.sched_setaffinity(0, mine)


def _fake_stat(pid: int, ppid: int, utime: int, stime: int, cutime: int, cstime: int) -> str:
    """A ``/proc/<pid>/stat`` line: page-fault counts, priority and nice all non-zero, as on a real process."""
    faults = "4000 900 30 7"  # minflt cminflt majflt cmajflt
    return (
        f"{pid} (py (x) y) S {ppid} {pid} {pid} 0 -1 4194560 {faults} {utime} {stime} {cutime} {cstime} 20 0 3 0 55\n"
    )


@pytest.mark.parametrize("children_files", [True, False], ids=["children-files", "scan"])
def test_this_process_trees_cpu_time_is_its_user_and_system_time_and_its_reaped_childrens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, children_files: bool
) -> None:
    """``own_s`` sums user and system time, with reaped children's, of this process and each live descendant (a
    grandchild too), found through ``task/*/children`` or, on a kernel without those files, by scanning ``/proc``;
    never page-fault counts or the scheduling priority, and never an unrelated process's time."""
    from lightning_ecopt.energy import contention

    me, child, grandchild, stranger = os.getpid(), 900001, 900002, 900003
    proc = tmp_path / "proc"
    (proc / "stat").parent.mkdir(parents=True)
    (proc / "stat").write_text("cpu  1000 0 0 10000 0 0 0 0 0 0\ncpu0 1000 0 0 10000 0 0 0 0 0 0\n")
    tree = [
        (me, 1, (100, 20, 3, 4), [child]),
        (child, me, (50, 5, 6, 2), [grandchild]),  # a DDP rank that reaped a DataLoader worker of its own
        (grandchild, child, (7, 1, 0, 0), []),
        (stranger, 1, (9000, 900, 0, 0), []),
    ]
    for pid, ppid, times, kids in tree:
        task = proc / str(pid) / "task" / str(pid)
        task.mkdir(parents=True)
        (proc / str(pid) / "stat").write_text(_fake_stat(pid, ppid, *times))
        if children_files:
            (task / "children").write_text(" ".join(map(str, kids)))
    monkeypatch.setattr(contention, "_PROC", proc)
    snapshot = contention.cpu_snapshot()
    assert snapshot is not None
    ticks = os.sysconf("SC_CLK_TCK")
    assert snapshot.own_s == pytest.approx((100 + 20 + 3 + 4 + 50 + 5 + 6 + 2 + 7 + 1) / ticks)


@pytest.mark.parametrize("children_files", [True, False], ids=["children-files", "scan"])
@pytest.mark.parametrize(
    "comm",
    [b"entra\xc3\xaenement_\xc3", b"caf\xe9", "µ-modèle".encode()],
    ids=["utf8-cut-at-15-bytes", "latin-1", "utf8"],
)
def test_cpu_time_of_processes_named_in_bytes_no_locale_decodes_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, children_files: bool, comm: bytes
) -> None:
    """A process's name in ``/proc/<pid>/stat`` is raw bytes cut at 15 (``./entraînement_énergie.py`` reads
    ``entra\xc3\xaenement_\xc3``): neither it nor another process named so on the machine (the scan reads them
    all) loses the snapshot, under any locale. Read as text it raised UnicodeDecodeError, and the contention
    figure was silently dropped."""
    from lightning_ecopt.energy import contention

    me, child, stranger = os.getpid(), 900001, 900003
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text("cpu  1000 0 0 10000 0 0 0 0 0 0\ncpu0 1000 0 0 10000 0 0 0 0 0 0\n", encoding="ascii")
    tree = [(me, 1, (100, 20, 3, 4), [child]), (child, me, (50, 5, 6, 2), []), (stranger, 1, (9000, 900, 0, 0), [])]
    for pid, ppid, times, kids in tree:
        task = proc / str(pid) / "task" / str(pid)
        task.mkdir(parents=True)
        line = _fake_stat(pid, ppid, *times).encode("ascii").replace(b"(py (x) y)", b"(" + comm + b")")
        (proc / str(pid) / "stat").write_bytes(line)
        if children_files:
            (task / "children").write_text(" ".join(map(str, kids)), encoding="ascii")
    monkeypatch.setattr(contention, "_PROC", proc)
    snapshot = contention.cpu_snapshot()
    assert snapshot is not None
    assert snapshot.own_s == pytest.approx((100 + 20 + 3 + 4 + 50 + 5 + 6 + 2) / os.sysconf("SC_CLK_TCK"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")
def test_a_child_process_named_with_a_cut_utf8_character_leaves_the_cpu_snapshot_readable() -> None:
    """The real kernel: a child renames itself (``prctl(PR_SET_NAME)``, as a script started by its file name is
    named) with a UTF-8 character cut in two; the snapshot that walks this process tree still reads."""
    import subprocess
    import sys

    from lightning_ecopt.energy.contention import cpu_snapshot

    name = "entraînement_é".encode()[:15]
    assert name.endswith(b"\xc3")  # the cut falls inside the last character
    code = (
        f"import ctypes, sys, time\nctypes.CDLL(None).prctl(15, {name!r})\nprint('named', flush=True)\ntime.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"named\n"
        assert Path(f"/proc/{child.pid}/stat").read_bytes().startswith(f"{child.pid} (".encode() + name + b")")
        assert cpu_snapshot() is not None
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


# --- Zeus through its real GPU and RAPL classes, on a faked NVML and a fake sysfs tree ---------------------------
@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Zeus's own ``NVIDIAGPUs`` on a faked ``pynvml`` with two Hopper GPUs (NVML indices 0 and 1), and fake RAPL.

    Zeus parses ``CUDA_VISIBLE_DEVICES`` and opens NVML devices itself, so this is where its parsing is exercised.
    """
    import pynvml
    import zeus.device.gpu as zeus_gpu
    from zeus.device.gpu import nvidia
    from zeus.monitor import energy as zeus_energy

    def by_index(index: int) -> int:
        if not 0 <= index < 2:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return index

    def not_supported(*args: Any) -> Any:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    fakes = {
        "nvmlInit": lambda *a, **k: None,
        "nvmlShutdown": lambda *a, **k: None,
        "nvmlDeviceGetCount": lambda: 2,
        "nvmlDeviceGetHandleByIndex": by_index,
        "nvmlDeviceGetC2cModeInfoV": not_supported,
        "nvmlDeviceGetArchitecture": lambda handle: pynvml.NVML_DEVICE_ARCH_HOPPER,
        "nvmlDeviceGetTotalEnergyConsumption": lambda handle: cpus.nvml_mj[handle],
    }
    for name, fn in fakes.items():
        monkeypatch.setattr(pynvml, name, fn)
    cpus = _FakeCPUs()
    cpus.nvml_mj.update({0: 1000, 1: 2000})  # each GPU's energy counter (mJ); a test advances them
    nvidia.nvml_is_available.cache_clear()
    monkeypatch.setattr(zeus_gpu, "_gpus", None)
    monkeypatch.setattr(zeus_energy, "get_cpus", lambda: cpus)
    monkeypatch.setattr(zeus_energy, "sync_execution_fn", lambda *a, **k: None)
    yield cpus
    nvidia.nvml_is_available.cache_clear()


def _no_rapl() -> Any:
    from zeus.device.cpu.common import ZeusCPUInitError

    raise ZeusCPUInitError("RAPL unavailable")


def test_fake_nvml_is_read_through_zeus(fake_nvml: _FakeCPUs, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake NVML above stands for a GPU machine: with indices in CUDA_VISIBLE_DEVICES Zeus reads the GPU."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    meter, why = make_meter("zeus", gpu_indices=[0])
    assert (meter.source, why) == ("measured: zeus/nvml+rapl", None)
    meter.begin("w")
    fake_nvml.nvml_mj[0] += 999_000
    fake_nvml.nvml_mj[1] += 3_000
    assert meter.end("w").gpu_j == {0: pytest.approx(3.0)}  # CUDA device 0 is NVML GPU 1, its joules read


@pytest.mark.parametrize("visible", ["GPU-5d3f0b8e-aaaa-bbbb-cccc-000000000000", "-1", "0,GPU-5d3f0b8e"])
def test_cuda_visible_devices_zeus_cannot_map_falls_back_or_is_refused(
    fake_nvml: _FakeCPUs, monkeypatch: pytest.MonkeyPatch, visible: str
) -> None:
    """Zeus reads CUDA_VISIBLE_DEVICES with int(): UUIDs raise ValueError, '-1' an NVML error at the first window."""
    from zeus.monitor import energy as zeus_energy

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    named = rf"CUDA_VISIBLE_DEVICES='{visible}' is not a list of GPU indices .*nvidia-smi -L"
    # No GPU in use and RAPL readable: RAPL alone is measured, and its windows open and close.
    for name in ("auto", "zeus"):
        meter, why = make_meter(name, gpu_indices=[], read_cpu=True)
        assert (meter.source, why) == ("measured: zeus/rapl", None)
        meter.begin("loop")
        fake_nvml.cpu_mj += 2_000
        assert meter.end("loop").cpu_j == pytest.approx(2.0)
    # A GPU in use that Zeus cannot map: measured for the CPU only, with one warning naming the variable...
    meter, why = make_meter("auto", gpu_indices=[0], read_cpu=True)
    assert meter.source == "measured: zeus/rapl"
    assert why is not None
    assert why.startswith("lightning_ecopt: Zeus cannot read the energy of GPU 0")
    assert why.count("CUDA_VISIBLE_DEVICES=") == 1
    meter.begin("loop")
    assert meter.end("loop").gpu_j == {}
    # ... refused by meter='zeus', saying what to set...
    with pytest.raises(EnergyMeterError, match=named):
        make_meter("zeus", gpu_indices=[0])
    # ... and estimated where RAPL is unreadable too.
    monkeypatch.setattr(zeus_energy, "get_cpus", _no_rapl)
    meter, why = make_meter("auto", gpu_indices=[0], read_cpu=True)
    assert isinstance(meter, CpuTimeEstimator)
    assert why is not None
    assert "ESTIMATED" in why
    assert why.count("CUDA_VISIBLE_DEVICES=") == 1


def test_a_second_process_whose_gpu_zeus_cannot_read_is_covered_by_rapl(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DDP rank 1 on a node whose NVML is missing: rank 0's package-wide RAPL holds its CPU work; no estimate."""
    from zeus.device.gpu.common import ZeusGPUInitError
    from zeus.monitor import energy as zeus_energy

    def no_nvml() -> Any:
        raise ZeusGPUInitError("NVML Shared Library Not Found")

    monkeypatch.setattr(zeus_energy, "get_gpus", no_nvml)
    first, _ = make_meter("auto", gpu_indices=[0], read_cpu=True)
    second, why = make_meter("auto", gpu_indices=[1], read_cpu=False)
    assert first.source == second.source == "measured: zeus/rapl"
    assert isinstance(second, CoveredElsewhere)
    assert why is not None
    assert "cannot read the energy of GPU 1 (no GPU counters" in why
    with pytest.raises(EnergyMeterError, match="found no energy counter to read: no GPU counters"):
        make_meter("zeus", gpu_indices=[1], read_cpu=False)
    # Where rank 0 cannot read RAPL either, each rank estimates its own CPU time: then the sum is right.
    monkeypatch.setattr(zeus_energy, "get_cpus", _no_rapl)
    assert isinstance(make_meter("auto", gpu_indices=[1], read_cpu=False)[0], CpuTimeEstimator)


def test_a_zeus_meter_passed_in_reads_rapl_on_one_process_per_node(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """EnergyCallback(meter=ZeusMeter(...)) under DDP: local rank 1 reading the package too would count it twice."""
    first = ZeusMeter(gpu_indices=[0])
    assert make_meter(first, gpu_indices=[0], read_cpu=True) == (first, None)
    with pytest.raises(EnergyMeterError, match=r"local rank > 0\).*read_cpu=local_rank == 0") as refused:
        make_meter(ZeusMeter(gpu_indices=[1]), gpu_indices=[1], read_cpu=False)
    # The rank the message says to read is this process's under torchrun and under SLURM's tasks (srun sets
    # SLURM_LOCALID, not LOCAL_RANK): reading LOCAL_RANK alone made every SLURM task rank 0, refused again.
    expression = re.search(r"local_rank = (int\(.*?\)\)+)", str(refused.value))
    assert expression is not None, str(refused.value)
    for variables in ({"LOCAL_RANK": "1"}, {"SLURM_LOCALID": "1", "SLURM_PROCID": "3", "SLURM_NTASKS": "4"}):
        with mock.patch.dict(os.environ, variables, clear=True):
            assert eval(expression[1], {"os": os}) == 1, (expression[1], variables)
    second = ZeusMeter(gpu_indices=[1], read_cpu=False)  # as the message says
    assert make_meter(second, gpu_indices=[1], read_cpu=False) == (second, None)
    assert second.source == "measured: zeus/nvml"


def test_a_zeus_meter_passed_in_measures_the_trainers_gpu(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ZeusMeter() resolved its GPU when EnergyCallback read its label, before Lightning set cuda:1: it read GPU 0."""
    import torch

    gpus, _ = fake_zeus
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)  # before the trainer sets its device
    meter = ZeusMeter(read_cpu=False)
    assert meter.source == "measured: zeus/nvml"  # what EnergyCallback(meter=...) checks when built
    assert make_meter(meter, gpu_indices=[1], read_cpu=True) == (meter, None)
    meter.begin("loop")
    gpus.mj[0] += 5_000
    gpus.mj[1] += 2_000
    assert meter.end("loop").gpu_j == {1: pytest.approx(2.0)}
    # Given its GPUs, or once it has measured, a meter is the user's: on another GPU it is refused, never relabelled.
    with pytest.raises(EnergyMeterError, match=r"ZeusMeter\(gpu_indices=\[0\]\)\) in a process that computes on GPU 1"):
        make_meter(ZeusMeter(gpu_indices=[0], read_cpu=False), gpu_indices=[1], read_cpu=True)
    with pytest.raises(EnergyMeterError, match="computes on GPU 0"):
        make_meter(meter, gpu_indices=[0], read_cpu=True)
    both = ZeusMeter(gpu_indices=[0, 1], read_cpu=False)  # more than the trainer's: the user's choice
    assert make_meter(both, gpu_indices=[1], read_cpu=True) == (both, None)


def test_a_gpu_numbered_otherwise_by_cuda_than_by_nvml_is_not_measured_as_this_ones(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mixed node: CUDA (fastest first) calls the H100 device 0, NVML (PCI bus order) calls the A100 GPU 0."""
    import torch

    gpus, _ = fake_zeus
    nvml_names = ["NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3"]
    gpus.get_name = nvml_names.__getitem__  # type: ignore[attr-defined]
    cuda_names = nvml_names[::-1]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", cuda_names.__getitem__)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    with pytest.raises(EnergyMeterError, match=r"CUDA's device 0 is a NVIDIA H100.*CUDA_DEVICE_ORDER=PCI_BUS_ID"):
        make_meter("zeus", gpu_indices=[0], read_cpu=False)
    meter, why = make_meter("auto", gpu_indices=[0], read_cpu=True)  # RAPL alone, saying the GPU is left out
    assert meter.source == "measured: zeus/rapl"
    assert why is not None
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in why
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")  # the fix: CUDA numbers them as NVML does
    assert make_meter("zeus", gpu_indices=[0], read_cpu=False)[0].source == "measured: zeus/nvml"
    cuda_names[:] = nvml_names  # one order (or one model of GPU): nothing to say
    monkeypatch.delenv("CUDA_DEVICE_ORDER")
    assert make_meter("zeus", gpu_indices=[0, 1], read_cpu=False)[0].source == "measured: zeus/nvml"


class _NoWraps:
    """Stands in for Zeus's RAPL wrap-around tracker (a helper process) in unit tests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def get_num_wraparounds(self) -> int:
        return 0


def _rapl_zone(path: Any, name: str, energy_uj: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for file, value in (("name", name), ("energy_uj", energy_uj), ("max_energy_range_uj", 262143328850)):
        (path / file).write_text(f"{value}\n")


def test_rapl_psys_zone_is_not_added_to_the_packages(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Intel client CPUs have a ``psys`` zone (intel-rapl:1): the whole platform, the package included."""
    import zeus.device.cpu as zeus_cpu
    from zeus.device.cpu import rapl
    from zeus.device.gpu.common import ZeusGPUInitError
    from zeus.monitor import energy as zeus_energy

    def no_nvml() -> Any:
        raise ZeusGPUInitError("NVML Shared Library Not Found")

    root = tmp_path / "intel-rapl"
    package, dram, psys = root / "intel-rapl:0", root / "intel-rapl:0" / "intel-rapl:0:0", root / "intel-rapl:1"
    _rapl_zone(package, "package-0", 1_000_000)
    _rapl_zone(dram, "dram", 1_000_000)
    _rapl_zone(psys, "psys", 5_000_000)
    monkeypatch.setattr(rapl, "RAPL_DIR", str(root))
    monkeypatch.setattr(rapl, "RaplWraparoundTracker", _NoWraps)
    monkeypatch.setattr(zeus_cpu, "_cpus", None)
    monkeypatch.setattr(zeus_energy, "get_gpus", no_nvml)
    rapl.rapl_is_available.cache_clear()
    try:
        meter, why = make_meter("auto", gpu_indices=[], read_cpu=True)
        assert (meter.source, why) == ("measured: zeus/rapl+dram", None)
        assert isinstance(meter, ZeusMeter)
        meter.begin("w")
        start = meter.read()
        _rapl_zone(package, "package-0", 11_000_000)  # +10 J
        _rapl_zone(dram, "dram", 2_000_000)  # +1 J
        _rapl_zone(psys, "psys", 20_000_000)  # +15 J: the platform, the package's 10 J included
        m = meter.end("w")
        assert (m.cpu_j, m.dram_j) == (pytest.approx(10.0), pytest.approx(1.0))
        assert meter.joules_between(start, meter.read()) == pytest.approx(11.0)
    finally:
        rapl.rapl_is_available.cache_clear()


def test_rapl_zones_read_through_zeusd_leave_psys_out_by_the_sysfs_name(tmp_path: Path) -> None:
    """Zeus's ZeusdRAPLCPU has no rapl_file (no name): the zone's sysfs name, readable without root, says psys."""
    import types

    from lightning_ecopt.energy.zeus import _package_zones

    root = tmp_path / "intel-rapl"
    _rapl_zone(root / "intel-rapl:0", "package-0", 0)
    _rapl_zone(root / "intel-rapl:1", "psys", 0)
    _rapl_zone(root / "intel-rapl:2", "package-1", 0)
    zeusd = [types.SimpleNamespace(cpu_index=i) for i in range(3)]  # as ZeusdRAPLCPU: an index, no rapl_file
    assert _package_zones(types.SimpleNamespace(cpus=zeusd, rapl_dir=str(root))) == [0, 2]
    # Where no name can be read at all, the zone is kept (no reason to drop a package).
    assert _package_zones(types.SimpleNamespace(cpus=zeusd, rapl_dir=str(tmp_path / "none"))) == [0, 1, 2]


def test_a_rapl_wrap_the_tracker_missed_is_nan_not_262_kj(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """A window straddling an unseen wrap reads true + range: positive, so the negative check let it through."""
    _, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    meter.begin("w")
    cpus.cpu_mj += 500_000  # 500 J in a moment: a busy package over a short window's floor of 1 s, kept
    cpus.dram_mj += 1_000
    m = meter.end("w")
    assert (m.cpu_j, m.dram_j) == (pytest.approx(500.0), pytest.approx(1.0))
    meter.begin("w")
    cpus.cpu_mj += 262_143_328.85 + 3_000  # the counter's whole range (Intel: ~262 kJ) on top of 3 J
    cpus.dram_mj += 1_000
    with pytest.warns(UserWarning, match=r"more energy than a RAPL zone can draw \(cpu0: 262146 J in"):
        m = meter.end("w")
    assert math.isnan(m.cpu_j)
    assert m.dram_j == pytest.approx(1.0)
    assert math.isnan(m.total_j)


def test_a_rapl_wrap_the_tracker_missed_between_readings_is_nan(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """Per-batch readings judge a RAPL step as windows do; a GPU's large step is no RAPL wrap and is kept."""
    gpus, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[0], read_cpu=True)
    a = meter.read()
    gpus.mj[0] += 5_000_000  # 5 kJ of GPU: NVML's 64-bit counter does not wrap
    cpus.cpu_mj += 300_000
    b = meter.read()
    assert meter.joules_between(a, b) == pytest.approx(5_300.0)
    cpus.cpu_mj += 262_143_328.85 + 2_000
    with pytest.warns(UserWarning, match="wrapped around without Zeus's tracker seeing it"):
        assert math.isnan(meter.joules_between(b, meter.read()))


def test_the_rapl_bound_between_readings_grows_with_the_time_between_them() -> None:
    """Mutation survivor: readings were only taken < 1 s apart, where the bound is its floor (1 kW over 1 s)."""
    meter = ZeusMeter()  # no reading yet: every slot is judged as a RAPL zone's
    assert meter.joules_between((0.0, 0.0), (10.0, 5_000_000.0)) == pytest.approx(5_000.0)  # 500 W over 10 s: kept
    with pytest.warns(UserWarning, match="wrapped around without Zeus's tracker seeing it"):
        assert math.isnan(meter.joules_between((0.0, 0.0), (10.0, 15_000_000.0)))  # 1.5 kW: a missed wrap
    assert meter.joules_between((0.0, 0.0), (1.0, 1_000_000.0)) == pytest.approx(1_000.0)  # the bound itself: kept
    with pytest.warns(UserWarning, match="wrapped around without Zeus's tracker seeing it"):  # its floor is 1 s
        assert math.isnan(meter.joules_between((0.0, 0.0), (0.5, 1_500_000.0)))


def test_readings_and_windows_judge_a_rapl_step_by_the_same_bound(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """Mutation survivor: only the bound itself was read (kept), not a step just above it: a window calls it a missed
    wrap, and per-batch readings must too, or a batch's figure keeps what the loop's window reports as NaN."""
    _, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    meter.begin("w")
    cpus.cpu_mj += 1_000_500  # 1000.5 J within a second: above 1 kW
    with pytest.warns(UserWarning, match="more energy than a RAPL zone can draw"):
        assert math.isnan(meter.end("w").cpu_j)
    with pytest.warns(UserWarning, match="wrapped around without Zeus's tracker seeing it"):
        assert math.isnan(meter.joules_between((0.0, 0.0, 0.0), (1.0, 1_000_500.0, 0.0)))


def test_a_gpu_window_that_read_nothing_is_0_j_not_a_reset(fake_zeus: tuple[_FakeGPUs, _FakeCPUs]) -> None:
    """Mutation survivor: a counter that did not move (an idle GPU, a window shorter than NVML's update period) was
    never read: it is 0 J, which the callback flags itself, not a counter gone backwards reported as NaN."""
    import warnings

    _, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[0], read_cpu=True)
    meter.begin("w")
    cpus.cpu_mj += 1_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = meter.end("w")
    assert (m.gpu_j, m.cpu_j) == ({0: 0.0}, pytest.approx(1.0))


@pytest.mark.parametrize("step_s", [-3600.0, 3600.0], ids=["stepped back", "stepped forward"])
def test_a_zeus_windows_seconds_keep_when_the_wall_clock_steps_inside_it(
    fake_zeus: tuple[_FakeGPUs, _FakeCPUs], monkeypatch: pytest.MonkeyPatch, step_s: float
) -> None:
    """Zeus times a window with ``time.time()``: stepped back an hour inside it (NTP, ``date -s``), a loop lasted
    -3600 s (a "short" loop with no figures; no power), stepped forward, 3600 s (power 3600 times too low)."""
    import time

    from zeus.monitor import energy as zeus_energy

    _, cpus = fake_zeus
    meter = ZeusMeter(gpu_indices=[], read_cpu=True)
    meter.begin("w")
    started = time.perf_counter()
    monkeypatch.setattr(zeus_energy, "time", lambda: time.time() + step_s)
    time.sleep(0.05)
    cpus.cpu_mj += 2_000
    m = meter.end("w")
    assert 0.05 <= m.time_s <= time.perf_counter() - started + 0.01
    assert m.cpu_j == pytest.approx(2.0)
    assert m.power_w == pytest.approx(2.0 / m.time_s)


# --- Zeus on a faked SoC: Apple silicon and a Jetson, through Zeus's own classes and ZeusMonitor --------------------
_APPLE_FIELDS = ("cpu_total_mj", "dram_mj", "gpu_mj", "gpu_sram_mj", "ane_mj")


class _FakeAppleEnergyMonitor:
    """Stands in for ``zeus_apple_silicon.AppleEnergyMonitor`` (Mac-only): cumulative int mJ the test advances."""

    def __init__(self) -> None:
        self.mj: dict[str, int | None] = dict.fromkeys(_APPLE_FIELDS, 0)
        self.windows: dict[str, dict[str, int | None]] = {}
        self.reads = 0

    @staticmethod
    def _metrics(mj: dict[str, int | None]) -> Any:
        """An ``AppleEnergyMetrics``, as Zeus's ``AppleSiliconMeasurement.from_metrics`` reads it."""
        from types import SimpleNamespace

        per_core = ("efficiency_cores_mj", "performance_cores_mj", "efficiency_cluster_mj", "performance_cluster_mj")
        managers = ("efficiency_core_manager_mj", "performance_core_manager_mj")
        # Per-core figures are parts of cpu_total_mj: a mapping that added them would count the CPU twice.
        extra = {name: [10_000_000] for name in per_core} | dict.fromkeys(managers, 10_000_000)
        return SimpleNamespace(**extra, **mj)

    def get_cumulative_energy(self) -> Any:
        self.reads += 1
        return self._metrics(self.mj)

    def begin_window(self, key: str, restart: bool = False) -> None:
        self.windows[key] = dict(self.mj)

    def end_window(self, key: str) -> Any:
        start = self.windows.pop(key)
        diff = {k: None if v is None else v - (start[k] or 0) for k, v in self.mj.items()}
        return self._metrics(diff)


def _no_gpus_nor_rapl(monkeypatch: pytest.MonkeyPatch) -> None:
    from zeus.device.cpu.common import ZeusCPUInitError
    from zeus.device.gpu.common import ZeusGPUInitError
    from zeus.monitor import energy as zeus_energy

    def no_nvml() -> Any:
        raise ZeusGPUInitError("NVML unavailable")

    def no_rapl() -> Any:
        raise ZeusCPUInitError("RAPL unavailable")

    monkeypatch.setattr(zeus_energy, "get_gpus", no_nvml)
    monkeypatch.setattr(zeus_energy, "get_cpus", no_rapl)


@pytest.fixture
def fake_apple(monkeypatch: pytest.MonkeyPatch) -> _FakeAppleEnergyMonitor:
    """A Mac with ``zeus-apple-silicon``: Zeus's own ``AppleSilicon`` over a fake monitor, as ``get_soc`` returns it."""
    import zeus.device.soc as zeus_soc
    from zeus.device.soc import apple

    monitor = _FakeAppleEnergyMonitor()
    monkeypatch.setattr(apple, "zeus_apple_silicon", type("M", (), {"AppleEnergyMonitor": lambda: monitor}))
    monkeypatch.setattr(zeus_soc, "_soc", apple.AppleSilicon())  # get_soc's singleton, which ZeusMonitor reads
    _no_gpus_nor_rapl(monkeypatch)
    return monitor


def _fallback_on(monkeypatch: pytest.MonkeyPatch, platform: str) -> str:
    """Why ``make_meter("auto")`` falls back to the estimate on ``platform`` (``sys.platform``) without counters."""
    import sys

    from zeus.device.soc.common import ZeusSoCInitError
    from zeus.monitor import energy as zeus_energy

    def no_soc() -> Any:
        raise ZeusSoCInitError("No observable SoC was found on the current machine.")

    _no_gpus_nor_rapl(monkeypatch)
    monkeypatch.setattr(zeus_energy, "get_soc", no_soc)
    monkeypatch.setattr(sys, "platform", platform)
    meter, why = make_meter("auto")
    assert isinstance(meter, CpuTimeEstimator)
    assert why is not None
    return why


def test_a_mac_without_zeus_apple_silicon_is_told_its_fix_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback said `pip install zeus-apple-silicon` twice and asked if the Mac was "a VM or a non-x86 CPU"."""
    why = _fallback_on(monkeypatch, "darwin")
    assert why.count("zeus-apple-silicon") == 1
    assert "no SoC counters: No observable SoC was found on the current machine; no GPU" in why
    assert "no RAPL counters (macOS has none" in why
    assert "non-x86" not in why
    assert "NVIDIA" not in why
    with pytest.raises(EnergyMeterError, match="No observable SoC") as refused:
        make_meter("zeus")
    assert str(refused.value).count("zeus-apple-silicon") == 1


def test_windows_without_a_gpu_is_told_what_measures_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows was asked whether it was "a VM or a non-x86 CPU" and told to make RAPL readable with root or zeusd."""
    why = _fallback_on(monkeypatch, "win32")
    assert "no RAPL counters (Zeus reads them on Linux only)" in why
    assert why.endswith(". For measured joules on Windows run on an NVIDIA GPU (its driver's NVML), or on Linux.")
    assert not any(word in why for word in ("non-x86", "zeusd", "root", "zeus-apple-silicon", "SoC"))


class _FakeJetson:
    """A Jetson's rails (mW x s = mJ, as Zeus's sampling process accumulates them) that the test advances."""

    def __init__(self, rails: tuple[str, ...] = ("cpu", "gpu", "total")) -> None:
        self.mj: dict[str, float] = {f"{rail}_energy_mj": 0.0 for rail in rails}


def _install_fake_jetson(monkeypatch: pytest.MonkeyPatch, rails: _FakeJetson, power: Any = None) -> None:
    """Zeus's own ``Jetson`` (its windows, ``JetsonMeasurement``) as ``get_soc``'s singleton, sampling faked.

    ``power`` is Zeus's ``power_measurement`` (rail -> the sysfs files it reads), where a test has a fake INA3221.
    """
    import zeus.device.soc as zeus_soc
    from zeus.device.soc.jetson import Jetson, JetsonMeasurement

    class Faked(Jetson):
        def __init__(self) -> None:  # no INA3221 in sysfs and no helper process here
            self.measurement_states = {}
            self.available_metrics = None
            if power is not None:
                self.power_measurement = power

        def get_total_energy_consumption(self, timeout: float = 15.0) -> JetsonMeasurement:
            return JetsonMeasurement(**rails.mj)

    monkeypatch.setattr(zeus_soc, "_soc", Faked())


@pytest.fixture
def fake_jetson(monkeypatch: pytest.MonkeyPatch) -> _FakeJetson:
    """A Jetson (AGX: CPU, GPU and input rails) with no NVML nor RAPL."""
    rails = _FakeJetson()
    _install_fake_jetson(monkeypatch, rails)
    _no_gpus_nor_rapl(monkeypatch)
    return rails


def _ina3221(folder: Path, labels: dict[str, str], old_kernel: bool = False) -> Any:
    """Zeus's ``power_measurement`` over a fake INA3221 folder: each rail's label file and the power files it reads.

    Newer kernels: ``in{i}_label`` beside ``power{i}_input`` (here the input rail) or ``in{i}_input`` and
    ``curr{i}_input`` (the others); older ones: ``rail_name_{i}`` beside ``in_power{i}_input``.
    """
    from zeus.device.soc.jetson import DirectPower, VoltageCurrentProduct

    folder.mkdir()
    power: dict[str, Any] = {}
    for i, (rail, label) in enumerate(labels.items(), start=1):
        if old_kernel:
            (folder / f"rail_name_{i}").write_text(f"{label}\n")
            power[f"{rail}_power_mw"] = DirectPower(folder / f"in_power{i}_input")
        else:
            (folder / f"in{i}_label").write_text(f"{label}\n")
            power[f"{rail}_power_mw"] = (
                DirectPower(folder / f"power{i}_input")
                if rail == "total"
                else VoltageCurrentProduct(folder / f"in{i}_input", folder / f"curr{i}_input")
            )
    return power


def test_apple_silicon_is_measured_through_zeus_and_each_joule_counted_once(
    fake_apple: _FakeAppleEnergyMonitor,
) -> None:
    """A Mac with zeus-apple-silicon fell back to the CPU-time estimate: Zeus measures its CPU, GPU, memory, ANE."""
    meter, why = make_meter("auto", gpu_indices=[])  # Lightning on mps: no CUDA index
    assert isinstance(meter, ZeusMeter)
    assert (meter.source, why) == ("measured: zeus/apple-soc+dram", None)
    assert meter.probe.found
    assert meter.probe.soc_gpu == 0
    meter.begin("w")
    for name, mj in zip(_APPLE_FIELDS, (3_000, 1_000, 1_500, 500, 250), strict=True):
        fake_apple.mj[name] = (fake_apple.mj[name] or 0) + mj
    m = meter.end("w")
    assert m.gpu_j == {0: pytest.approx(2.0)}  # the GPU and its SRAM
    assert (m.cpu_j, m.dram_j, m.other_j) == (pytest.approx(3.0), pytest.approx(1.0), {"ane": pytest.approx(0.25)})
    assert m.total_j == pytest.approx(6.25)  # the per-core and per-cluster figures are parts of the CPU's: not added
    assert m.source == "measured: zeus/apple-soc+dram"


def test_an_apple_figure_the_chip_does_not_give_stays_unread(fake_apple: _FakeAppleEnergyMonitor) -> None:
    from lightning_ecopt.energy.measurement import zeus_counters

    fake_apple.mj.update(dram_mj=None, ane_mj=None)
    meter = ZeusMeter(gpu_indices=[])
    assert meter.probe.soc_metrics == ("cpu_total_mj", "gpu_mj", "gpu_sram_mj")
    # No DRAM figure: labelled so (as RAPL without a DRAM zone), since a sweep must not mix it with apple-soc+dram.
    assert meter.source == "measured: zeus/apple-soc"
    assert zeus_counters(meter.source) != zeus_counters("measured: zeus/apple-soc+dram")
    meter.begin("w")
    fake_apple.mj.update(cpu_total_mj=2_000, gpu_mj=1_000)
    m = meter.end("w")
    assert (m.gpu_j, m.cpu_j, m.dram_j, m.other_j) == ({0: 1.0}, 2.0, None, {})  # None, never 0 J
    assert ZeusMeter(gpu_indices=[], read_cpu=False).probe.soc is None  # chip-wide, like RAPL: local rank 0 reads it
    covered, why = make_meter("auto", gpu_indices=[], read_cpu=False)  # local rank 1: rank 0's counters hold its work
    assert isinstance(covered, CoveredElsewhere)
    assert (covered.source, covered.update_period_s, why) == ("measured: zeus/apple-soc", pytest.approx(0.1), None)


def test_jetson_total_is_its_input_rail_never_rails_plus_total(fake_jetson: _FakeJetson) -> None:
    """The input rail holds the CPU and GPU rails: the total is it, the rest of the module the remainder."""
    meter, why = make_meter("zeus", gpu_indices=[0])  # Lightning on a Jetson: cuda:0, its on-chip GPU
    assert (meter.source, why) == ("measured: zeus/jetson", None)
    assert meter.update_period_s == pytest.approx(0.1)
    meter.begin("w")
    fake_jetson.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0, total_energy_mj=9_000.0)
    m = meter.end("w")
    assert m.gpu_j == {0: pytest.approx(5.0)}
    assert (m.cpu_j, m.dram_j, m.other_j) == (pytest.approx(2.0), None, {"module_rest": pytest.approx(2.0)})
    assert m.total_j == pytest.approx(9.0)


@pytest.mark.parametrize("labels", ["read", "unreadable"])
def test_a_jetson_without_a_gpu_rail_measures_its_gpu_in_the_input_rail(
    labels: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orin Nano and NX, Xavier NX: VDD_IN, VDD_CPU_GPU_CV (Zeus's CPU rail: "cpu" is matched first), no GPU rail.

    meter="zeus" refused them (GPU 0 "not jetson's on-chip GPU") and "auto" warned the GPU was left out.
    """
    rails = _FakeJetson(rails=("cpu", "total"))
    power = _ina3221(tmp_path / "hwmon1", {"total": "VDD_IN", "cpu": "VDD_CPU_GPU_CV"}) if labels == "read" else None
    _install_fake_jetson(monkeypatch, rails, power)
    _no_gpus_nor_rapl(monkeypatch)
    meter, why = make_meter("zeus", gpu_indices=[0])
    assert (meter.source, why) == ("measured: zeus/jetson", None)
    assert meter.probe.measured_gpus == (0,)
    assert make_meter("auto", gpu_indices=[0])[1] is None
    meter.begin("w")
    rails.mj.update(cpu_energy_mj=6_000.0, total_energy_mj=9_000.0)
    m = meter.end("w")
    assert (m.gpu_j, m.total_j) == ({}, pytest.approx(9.0))  # no GPU figure of its own: its joules are in the rails
    if labels == "read":  # the combined rail is not the CPU's
        assert (m.cpu_j, m.other_j) == (None, {"vdd_cpu_gpu_cv": 6.0, "module_rest": 3.0})
    else:  # Zeus's name for it, as Zeus reads it
        assert (m.cpu_j, m.other_j) == (6.0, {"module_rest": 3.0})
    _, why = make_meter("auto", gpu_indices=[0, 1])  # a GPU that is not the chip's: said, in the Jetson's words
    assert why is not None
    assert "for the Jetson's rails (its on-chip GPU, device 0, among them) only" in why
    assert "DRAM" not in why


def test_a_jetson_rail_holding_cpu_and_gpu_is_labelled_so_without_an_input_rail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older kernel's rail_name_N files: a CPU+GPU rail alone measures both (jetson-cpu-gpu), not the CPU alone."""
    rails = _FakeJetson(rails=("cpu",))
    _install_fake_jetson(monkeypatch, rails, _ina3221(tmp_path / "ina", {"cpu": "VDD_CPU_GPU_CV"}, old_kernel=True))
    _no_gpus_nor_rapl(monkeypatch)
    meter, why = make_meter("zeus", gpu_indices=[0])
    assert (meter.source, why, meter.probe.soc_cpu_rail) == ("measured: zeus/jetson-cpu-gpu", None, "VDD_CPU_GPU_CV")
    meter.begin("w")
    rails.mj["cpu_energy_mj"] += 4_000.0
    m = meter.end("w")
    assert (m.gpu_j, m.cpu_j, m.other_j) == ({}, None, {"vdd_cpu_gpu_cv": 4.0})


def test_a_jetson_without_an_input_rail_says_so_in_its_label(fake_jetson: _FakeJetson) -> None:
    from lightning_ecopt.energy.measurement import zeus_counters

    del fake_jetson.mj["total_energy_mj"]
    meter = ZeusMeter(gpu_indices=[0])
    assert meter.source == "measured: zeus/jetson-cpu-gpu"  # leaves the module out: not one frontier with jetson
    assert zeus_counters(meter.source) != "jetson"
    meter.begin("w")
    fake_jetson.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0)
    m = meter.end("w")
    assert (m.total_j, m.other_j) == (pytest.approx(7.0), {})


def test_an_l4t_host_with_a_discrete_gpu_reads_it_through_nvml_not_the_jetson_rails(
    fake_nvml: _FakeCPUs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """IGX Orin with a PCIe GPU: Zeus finds the Jetson, and its rails were read as cuda:0's joules, NVML skipped."""
    import logging

    import pynvml
    from zeus.monitor import energy as zeus_energy

    rails = _FakeJetson()
    _install_fake_jetson(monkeypatch, rails)
    monkeypatch.setattr(zeus_energy, "get_cpus", _no_rapl)  # an Arm CPU: no RAPL
    with caplog.at_level(logging.INFO, logger="lightning_ecopt.energy.zeus"):  # said as the monitor starts
        meter, why = make_meter("zeus", gpu_indices=[0])
    assert (meter.source, why) == ("measured: zeus/nvml", None)
    assert meter.probe.soc is None
    meter.begin("w")
    assert "the jetson SoC's counters were not read: NVML reads GPU 0, a discrete GPU beside the SoC" in caplog.text
    fake_nvml.nvml_mj[0] += 3_000
    rails.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0, total_energy_mj=9_000.0)
    m = meter.end("w")
    assert (m.gpu_j, m.cpu_j, m.other_j) == ({0: pytest.approx(3.0)}, None, {})  # the discrete GPU's, not the rails'
    # A process on the CPU alone, or on a GPU with no NVML energy counter (a Jetson's own): the SoC's rails.
    assert make_meter("zeus", gpu_indices=[])[0].source == "measured: zeus/jetson"

    def not_supported(*args: Any) -> Any:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetTotalEnergyConsumption", not_supported)
    meter, why = make_meter("zeus", gpu_indices=[0])
    assert (meter.source, why, meter.probe.soc_gpu, meter.probe.problems) == ("measured: zeus/jetson", None, 0, ())


def test_an_l4t_host_whose_nvml_cannot_tell_the_gpu_never_reads_the_jetson_rails_as_it(
    fake_nvml: _FakeCPUs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IGX Orin + a discrete GPU that NVML cannot map: its problems are said, not the module's rails as cuda:0's."""
    from zeus.device.gpu.common import ZeusGPUInitError
    from zeus.monitor import energy as zeus_energy

    rails = _FakeJetson()
    _install_fake_jetson(monkeypatch, rails)
    monkeypatch.setattr(zeus_energy, "get_cpus", _no_rapl)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8a3f5e2c-0000-0000-0000-000000000000")  # a scheduler's UUID
    with pytest.raises(EnergyMeterError, match=r"CUDA_VISIBLE_DEVICES.*GPU-8a3f.*jetson SoC's counters were not read"):
        make_meter("zeus", gpu_indices=[0])
    meter, why = make_meter("auto", gpu_indices=[0])  # the estimate, and why, to warn with
    assert meter.source.startswith("estimated")
    assert why is not None
    assert "GPU-8a3f" in why
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")

    def zeusd_down() -> Any:  # an NVML that works, behind a zeusd that does not answer
        raise ZeusGPUInitError("Failed to connect to zeusd at /var/run/zeusd.sock")

    monkeypatch.setattr(zeus_energy, "get_gpus", zeusd_down)
    with pytest.raises(EnergyMeterError, match=r"zeusd.sock.*jetson SoC's counters were not read as GPU 0's"):
        make_meter("zeus", gpu_indices=[0])


def test_a_discrete_gpu_by_torch_is_never_the_jetson_s_own(
    fake_jetson: _FakeJetson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No NVML at all, but torch (CUDA initialised) says cuda:0 is not integrated: the rails are not its joules."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    props = {"is_integrated": False, "name": "NVIDIA RTX 6000 Ada Generation"}
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: type("Props", (), props)())
    with pytest.raises(EnergyMeterError, match=r"cuda:0 \(NVIDIA RTX 6000 Ada Generation\) is a discrete GPU"):
        make_meter("zeus", gpu_indices=[0])
    props["is_integrated"] = True  # the Jetson's own
    meter, why = make_meter("zeus", gpu_indices=[0])
    assert (meter.source, why, meter.probe.soc_gpu) == ("measured: zeus/jetson", None, 0)


@pytest.mark.parametrize("soc", ["apple", "jetson"])
def test_soc_readings_match_a_window(
    soc: str, fake_apple: _FakeAppleEnergyMonitor, fake_jetson: _FakeJetson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-batch readings of an SoC: one cumulative reading, its total as the window counts it."""
    import zeus.device.soc as zeus_soc

    if soc == "apple":  # fake_jetson, set up last, holds get_soc's singleton: give it back to the Mac
        monkeypatch.setattr(zeus_soc, "_soc", _apple_soc(fake_apple))
    meter = ZeusMeter(gpu_indices=[])
    assert meter.reads_counters
    a = meter.read()
    meter.begin("w")
    if soc == "apple":
        fake_apple.mj.update(cpu_total_mj=3_000, dram_mj=1_000, gpu_mj=1_500, gpu_sram_mj=500, ane_mj=250)
    else:
        fake_jetson.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0, total_energy_mj=9_000.0)
    b = meter.read()
    expected = 6.25 if soc == "apple" else 9.0
    assert meter.joules_between(a, b) == pytest.approx(meter.end("w").total_j) == pytest.approx(expected)


def _apple_soc(monitor: _FakeAppleEnergyMonitor) -> Any:
    """Zeus's own ``AppleSilicon`` over ``monitor`` (its ``__init__`` would build the Mac-only monitor)."""
    from zeus.device.soc import apple

    soc = apple.AppleSilicon.__new__(apple.AppleSilicon)
    soc._monitor, soc.available_metrics = monitor, None
    return soc


@pytest.mark.parametrize(
    ("soc", "source", "gpu_j", "cpu_j", "other_j", "energy_j"),
    [
        ("apple", "measured: zeus/apple-soc+dram", 4.0, 6.0, 1.0, 13.0),  # + dram 2.0
        ("jetson", "measured: zeus/jetson", 10.0, 4.0, 6.0, 20.0),
    ],
)
def test_callback_measures_an_soc_end_to_end(
    soc: str,
    source: str,
    gpu_j: float,
    cpu_j: float,
    other_j: float,
    energy_j: float,
    fake_apple: _FakeAppleEnergyMonitor,
    fake_jetson: _FakeJetson,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EnergyCallback on trainer.test() (CPU accelerator): the SoC's joules and label, logged per domain."""
    import zeus.device.soc as zeus_soc
    from lightning.pytorch import Trainer
    from lightning.pytorch.demos.boring_classes import BoringModel

    from lightning_ecopt import EnergyCallback

    if soc == "apple":  # fake_jetson, set up last, holds get_soc's singleton: give it back to the Mac
        monkeypatch.setattr(zeus_soc, "_soc", _apple_soc(fake_apple))

    class Burn(BoringModel):
        def test_step(self, batch: Any, batch_idx: int) -> None:
            if soc == "apple":  # per batch: CPU 3 J, DRAM 1 J, GPU 1.5 + 0.5 J, ANE 0.5 J
                for name, mj in zip(_APPLE_FIELDS, (3_000, 1_000, 1_500, 500, 500), strict=True):
                    fake_apple.mj[name] = (fake_apple.mj[name] or 0) + mj
            else:  # per batch: CPU 2 J, GPU 5 J, the input rail 10 J
                for name, mj in (("cpu", 2_000.0), ("gpu", 5_000.0), ("total", 10_000.0)):
                    fake_jetson.mj[f"{name}_energy_mj"] += mj

    cb = EnergyCallback(warmup_batches=1, log_model_stats=False, min_duration_s=0)
    trainer = Trainer(callbacks=[cb], accelerator="cpu", logger=False, enable_progress_bar=False, limit_test_batches=3)
    trainer.test(Burn(), verbose=False)
    r = cb.results["test"]  # two measured batches
    assert r.source == source
    assert (r.gpu_j, r.cpu_j, r.other_j, r.energy_j) == pytest.approx((gpu_j, cpu_j, other_j, energy_j))
    assert r.dram_j == (pytest.approx(2.0) if soc == "apple" else None)
    logged = trainer.callback_metrics
    assert float(logged["energy/test_j"]) == pytest.approx(energy_j)
    assert float(logged["energy/test_other_j"]) == pytest.approx(other_j)
    assert ("energy/test_dram_j" in logged) == (soc == "apple")


def test_a_jetson_input_rail_below_its_rails_is_never_a_negative_figure(fake_jetson: _FakeJetson) -> None:
    """Each rail is sampled on its own: an input rail a little below CPU + GPU failed the trial (other_j < 0)."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.demos.boring_classes import BoringModel

    from lightning_ecopt import EnergyCallback, trial_metrics
    from lightning_ecopt.sweeper.objectives import parse_objectives, parse_task_result

    class Burn(BoringModel):
        def test_step(self, batch: Any, batch_idx: int) -> None:  # per batch: CPU 2 J, GPU 5 J, the input rail 6.9 J
            for name, mj in (("cpu", 2_000.0), ("gpu", 5_000.0), ("total", 6_900.0)):
                fake_jetson.mj[f"{name}_energy_mj"] += mj

    cb = EnergyCallback(warmup_batches=1, log_model_stats=False, min_duration_s=0, meter="zeus")
    trainer = Trainer(callbacks=[cb], accelerator="cpu", logger=False, enable_progress_bar=False, limit_test_batches=3)
    with pytest.warns(UserWarning, match=r"input rail read 13\.8 J, below the 14 J of the rails it holds") as said:
        trainer.test(Burn(), verbose=False)
    assert sum("input rail read" in str(w.message) for w in said) == 1  # once per meter, not per window
    out = trial_metrics(trainer)
    assert out["energy/source"] == "measured: zeus/jetson"
    assert (out["energy/test_other_j"], out["energy/test_j"]) == (0.0, pytest.approx(14.0))  # two batches of 7 J
    objectives = parse_objectives({"acc": "maximize", "energy/test_j": "minimize"}, None)
    assert parse_task_result(out | {"acc": 0.9}, objectives).values["energy/test_j"][0] == pytest.approx(14.0)
    meter = ZeusMeter(gpu_indices=[0])
    meter.begin("w")
    fake_jetson.mj["total_energy_mj"] = -1.0  # Zeus's sampling process restarted: a reset, not a rest of 0 J
    with pytest.warns(UserWarning, match="a counter was reset; reporting NaN"):
        assert math.isnan(meter.end("w").other_j["module_rest"])


def test_an_soc_window_synchronises_the_on_chip_gpu(
    fake_apple: _FakeAppleEnergyMonitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyTorch queues mps work: Zeus synchronises only NVML's GPUs, so an Apple window would end before its work."""
    import torch

    synced: list[str] = []
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.mps, "synchronize", lambda: synced.append("mps"))
    meter = ZeusMeter(gpu_indices=[])
    meter.begin("w")
    meter.end("w")
    meter.read()
    assert synced == ["mps", "mps", "mps"]


def test_an_apple_gpu_figure_is_read_from_either_of_its_two_fields() -> None:
    """Mutation survivor: the GPU and its SRAM were tested together or both absent, never one without the other."""
    from zeus.device.soc.apple import AppleSiliconMeasurement

    from lightning_ecopt.energy.zeus import soc_figures

    assert soc_figures("apple-soc", AppleSiliconMeasurement(cpu_total_mj=3000, gpu_mj=1500), gpu_index=2) == (
        {2: 1.5},
        3.0,
        None,
        {},
    )
    assert soc_figures("apple-soc", AppleSiliconMeasurement(gpu_sram_mj=500))[0] == {0: 0.5}
    assert soc_figures("apple-soc", AppleSiliconMeasurement(cpu_total_mj=3000))[0] == {}  # no GPU figure, not 0 J


def test_a_jetson_without_a_cpu_rail_leaves_no_joule_of_its_input_rail_out() -> None:
    """Mutation survivor: the rest of the module was only tested with a CPU rail read (or a GPU one missing)."""
    from zeus.device.soc.jetson import JetsonMeasurement

    from lightning_ecopt.energy.zeus import soc_figures

    figures = soc_figures("jetson", JetsonMeasurement(gpu_energy_mj=5000.0, total_energy_mj=9000.0))
    assert figures == ({0: 5.0}, None, None, {"module_rest": 4.0})


def test_an_soc_gpu_other_than_device_0_keys_its_figure(fake_jetson: _FakeJetson) -> None:
    """Mutation survivor: the on-chip GPU was always device 0 (``cuda:1``: a Jetson's GPU as Lightning names it)."""
    meter = ZeusMeter(gpu_indices=[1])
    assert meter.probe.soc_gpu == 1
    meter.begin("w")
    fake_jetson.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0, total_energy_mj=9_000.0)
    assert meter.end("w").gpu_j == {1: pytest.approx(5.0)}


@pytest.mark.parametrize("input_mj", [5_000.0, 0.0])
def test_an_input_rail_below_a_cpu_and_gpu_rail_is_said_once(
    input_mj: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation survivor: the input rail below the rails was tested only with a CPU rail and a GPU rail, not with the
    Orin Nano's VDD_CPU_GPU_CV (an other part, by its label), whose joules the comparison adds too."""
    rails = _FakeJetson(rails=("cpu", "total"))
    _install_fake_jetson(
        monkeypatch, rails, _ina3221(tmp_path / "hwmon1", {"total": "VDD_IN", "cpu": "VDD_CPU_GPU_CV"})
    )
    _no_gpus_nor_rapl(monkeypatch)
    meter = ZeusMeter(gpu_indices=[0])
    meter.begin("w")
    rails.mj.update(cpu_energy_mj=6_000.0, total_energy_mj=input_mj)
    with pytest.warns(UserWarning, match=rf"input rail read {input_mj / 1000:g} J, below the 6 J of the rails it"):
        m = meter.end("w")
    assert (m.cpu_j, m.other_j, m.total_j) == (None, {"vdd_cpu_gpu_cv": 6.0, "module_rest": 0.0}, pytest.approx(6.0))


def test_an_apple_counter_reset_is_nan_for_its_domain_alone(fake_apple: _FakeAppleEnergyMonitor) -> None:
    """Mutation survivor: a reset was tested on a Jetson, which has no DRAM figure to keep (``None`` either way)."""
    fake_apple.mj.update(cpu_total_mj=10_000, dram_mj=1_000)
    meter = ZeusMeter(gpu_indices=[])
    meter.begin("w")
    fake_apple.mj.update(cpu_total_mj=0, dram_mj=2_000, gpu_mj=1_500)  # the CPU's counter was reset
    with pytest.warns(UserWarning, match=r"read a negative energy from apple-soc \(cpu: -10 J\)"):
        m = meter.end("w")
    assert math.isnan(m.cpu_j)
    assert (m.dram_j, m.gpu_j, m.other_j) == (pytest.approx(1.0), {0: pytest.approx(1.5)}, {"ane": 0.0})


def test_an_soc_window_s_warnings_point_at_the_code_that_ended_the_window(fake_jetson: _FakeJetson) -> None:
    """Mutation survivor: where a warning points was never read. An SoC's, like RAPL's, names the line that called
    ``end`` (the user's, or the callback's), not a line inside the meter, so a filter by module or line applies."""
    meter = ZeusMeter(gpu_indices=[0])
    meter.begin("w")
    fake_jetson.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0, total_energy_mj=6_000.0)
    with pytest.warns(UserWarning, match="below the 7 J of the rails it holds") as below:
        meter.end("w")
    meter.begin("w")
    fake_jetson.mj["gpu_energy_mj"] = 0.0  # a reset
    with pytest.warns(UserWarning, match="a counter was reset") as reset:
        meter.end("w")
    assert [w.filename for w in [*below, *reset]] == [__file__, __file__]


def test_a_gpu_counter_label_names_its_vendor() -> None:
    """Mutation survivor: only NVML's label was read back: an AMD GPU's is ``amdsmi``, a vendor unknown ``nvml``."""
    from lightning_ecopt.energy.zeus import ZeusProbe

    assert ZeusProbe(gpu_indices=(0,), gpu_vendor="amdsmi", cpu=True).source == "measured: zeus/amdsmi+rapl"
    assert ZeusProbe(gpu_indices=(0,)).source == "measured: zeus/nvml"


def test_an_soc_reading_is_not_judged_by_rapl_s_bound(fake_jetson: _FakeJetson) -> None:
    """Mutation survivor: the slot of an SoC's cumulative figure (no RAPL zone, no wrap) was never a large step."""
    meter = ZeusMeter(gpu_indices=[0])
    a = meter.read()
    fake_jetson.mj.update(cpu_energy_mj=500_000.0, gpu_energy_mj=1_000_000.0, total_energy_mj=2_000_000.0)
    assert meter.joules_between(a, meter.read()) == pytest.approx(2_000.0)


def test_an_input_rail_equal_to_its_rails_is_not_said_to_be_below_them(fake_jetson: _FakeJetson) -> None:
    """Mutation survivor: the boundary of the warning above (a module whose other parts read 0 J)."""
    import warnings

    meter = ZeusMeter(gpu_indices=[0])
    meter.begin("w")
    fake_jetson.mj.update(cpu_energy_mj=2_000.0, gpu_energy_mj=5_000.0, total_energy_mj=7_000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert meter.end("w").other_j == {"module_rest": 0.0}
