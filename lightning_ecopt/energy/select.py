"""Choose an energy meter: measured through Zeus where counters exist, else the labelled CPU-time estimate."""

from __future__ import annotations

import time
from collections.abc import Sequence

from lightning_ecopt.energy import zeus
from lightning_ecopt.energy.estimator import DEFAULT_WATTS_PER_THREAD, CpuTimeEstimator
from lightning_ecopt.energy.measurement import EnergyMeter, Measurement
from lightning_ecopt.energy.zeus import _HOW_TO_FIX, RAPL_UPDATE_PERIOD_S, ZeusMeter
from lightning_ecopt.exceptions import EnergyMeterError

__all__ = ["METER_CHOICES", "CoveredElsewhere", "make_meter"]

#: The meter names ``make_meter`` and ``EnergyCallback(meter=...)`` accept.
METER_CHOICES = ("auto", "zeus", "estimate")


class CoveredElsewhere:
    """The meter of a process whose energy another process's counters already hold: it reads nothing.

    On a CPU-only node with readable RAPL, the first process (local rank 0) reads the package-wide counters, which
    count every process on the node. The others report their windows' wall time and no joules (``cpu_j`` and
    ``dram_j`` unread, no GPU), under the label of the counters that hold their energy, so summing the ranks'
    figures counts each joule once.

    Args:
        source: The label of the counters that hold this process's energy.
        update_period_s: Their update period, in seconds.

    Example:
        >>> meter = CoveredElsewhere("measured: zeus/rapl", 0.001)
        >>> meter.begin("w")
        >>> m = meter.end("w")
        >>> (m.gpu_j, m.cpu_j, m.dram_j, m.source)
        ({}, None, None, 'measured: zeus/rapl')
    """

    def __init__(self, source: str, update_period_s: float) -> None:
        self.source = source
        self.update_period_s = update_period_s
        self._starts: dict[str, float] = {}

    def begin(self, name: str) -> None:
        """Start the window ``name`` (its wall time only)."""
        if name in self._starts:
            raise ValueError(f"CoveredElsewhere.begin({name!r}): a window of that name is already open; end it first.")
        self._starts[name] = time.perf_counter()

    def end(self, name: str) -> Measurement:
        """End the window ``name``: its wall time, no joules."""
        try:
            start = self._starts.pop(name)
        except KeyError:
            raise ValueError(f"CoveredElsewhere.end({name!r}): no such window is open; call begin first.") from None
        return Measurement(time_s=max(time.perf_counter() - start, 0.0), source=self.source)


def make_meter(
    meter: str | EnergyMeter = "auto",
    *,
    gpu_indices: Sequence[int] = (),
    read_cpu: bool = True,
    watts_per_thread: float = DEFAULT_WATTS_PER_THREAD,
    idle_power_w: float = 0.0,
) -> tuple[EnergyMeter, str | None]:
    """Build the energy meter named by ``meter``.

    Args:
        meter: ``"auto"`` (Zeus when it finds a counter, else the estimator), ``"zeus"`` (measured or an error),
            ``"estimate"`` (always the CPU-time estimator), or an :class:`EnergyMeter` instance used as is.
        gpu_indices: CUDA device indices this process uses.
        read_cpu: Whether this process should read the package-wide RAPL counters.
        watts_per_thread: For the estimator: watts per busy hardware thread.
        idle_power_w: For the estimator: watts charged per wall-clock second.

    Returns:
        The meter, and a sentence to warn the user with (else ``None``) when ``"auto"`` fell back to the estimate, or
        measures with Zeus but cannot read a GPU in ``gpu_indices`` (the figures then leave that GPU out).

    Raises:
        EnergyMeterError: ``meter="zeus"`` and Zeus finds no counter, or cannot read a GPU in ``gpu_indices``; the
            message says what is missing and the fix.
        ValueError: Unknown meter name.
        TypeError: ``meter`` is neither a name nor an :class:`EnergyMeter`.

    Example:
        >>> meter, why = make_meter("estimate")
        >>> meter.source, why
        ('estimated: cpu-time', None)
    """
    if isinstance(meter, str):
        if meter not in METER_CHOICES:
            raise ValueError(f"meter={meter!r}: unknown meter; choose from {', '.join(map(repr, METER_CHOICES))}.")
        if meter == "estimate":
            return CpuTimeEstimator(watts_per_thread, idle_power_w), None
        if not gpu_indices and not read_cpu and zeus.probe_zeus((), read_cpu=True).cpu:
            # A second process on a CPU-only node (a non-zero local rank): the node's first process reads the
            # package-wide RAPL counters, which hold this process's work too. Estimating here and adding it to
            # that would count the work twice and mix an estimate into a measured figure.
            return CoveredElsewhere("measured: zeus/rapl", RAPL_UPDATE_PERIOD_S), None
        zeus_meter = ZeusMeter(gpu_indices=list(gpu_indices), read_cpu=read_cpu)
        probe = zeus_meter.probe
        unread = [i for i in gpu_indices if i not in probe.gpu_indices]
        if probe.found and unread:
            # The process computes on a GPU that Zeus cannot read, but RAPL is readable: the figures would be
            # labelled measured and leave out what is usually the largest consumer.
            problems = "; ".join(p for p in probe.problems if "GPU" in p) or "no counter found"
            gpus = ", ".join(map(str, unread))
            if meter == "zeus":
                raise EnergyMeterError(
                    f"ZeusMeter: this process computes on GPU {gpus}, but Zeus cannot read its energy ({problems}), "
                    f"so the figures would leave it out. {_HOW_TO_FIX}"
                )
            return zeus_meter, (
                f"lightning_ecopt: Zeus cannot read the energy of GPU {gpus} ({problems}): the figures are MEASURED "
                f"for the CPU and DRAM only (source '{probe.source}') and leave that GPU out. For the GPU's joules "
                "install its driver (NVML); `python -m zeus.show_env` shows what Zeus sees."
            )
        if meter == "zeus":
            zeus_meter._ensure_monitor()  # raises EnergyMeterError naming what is missing
            return zeus_meter, None
        if probe.found:
            return zeus_meter, None
        why = (
            f"lightning_ecopt: Zeus found no energy counter ({'; '.join(probe.problems)}), so energy is ESTIMATED "
            f"from CPU time x {watts_per_thread:g} W per busy thread (source 'estimated: cpu-time'). For measured "
            "joules run on an NVIDIA GPU or make RAPL readable (root or zeusd)."
        )
        return CpuTimeEstimator(watts_per_thread, idle_power_w), why
    if isinstance(meter, EnergyMeter):
        return meter, None
    raise TypeError(
        f"meter={meter!r}: expected one of {', '.join(map(repr, METER_CHOICES))} or an object with source, "
        "update_period_s, begin(name) and end(name) (the EnergyMeter protocol)."
    )
