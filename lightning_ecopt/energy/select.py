"""Choose an energy meter: measured through Zeus where counters exist, else the labelled CPU-time estimate."""

from __future__ import annotations

from collections.abc import Sequence

from lightning_ecopt.energy.estimator import DEFAULT_WATTS_PER_THREAD, CpuTimeEstimator
from lightning_ecopt.energy.measurement import EnergyMeter
from lightning_ecopt.energy.zeus import _HOW_TO_FIX, ZeusMeter
from lightning_ecopt.exceptions import EnergyMeterError

__all__ = ["METER_CHOICES", "make_meter"]

#: The meter names ``make_meter`` and ``EnergyCallback(meter=...)`` accept.
METER_CHOICES = ("auto", "zeus", "estimate")


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
