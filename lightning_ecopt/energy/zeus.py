"""Measured energy through Zeus: NVML (or AMDSMI) GPU counters and RAPL CPU/DRAM counters.

Zeus is imported only when a meter is built: ``import zeus.monitor`` takes 1-2 s, and Zeus starts helper processes
that re-import ``__main__``, so nothing here touches it at import time.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lightning_ecopt.energy.measurement import Measurement
from lightning_ecopt.exceptions import EnergyMeterError

__all__ = ["ZeusMeter", "ZeusProbe", "probe_zeus"]

log = logging.getLogger(__name__)

#: NVML's energy counter updates every ~20-100 ms; we plan around the slow end.
NVML_UPDATE_PERIOD_S = 0.1
#: RAPL counters update about every millisecond.
RAPL_UPDATE_PERIOD_S = 0.001

_HOW_TO_FIX = (
    "To measure: run on an NVIDIA GPU (Volta or newer) with its driver installed, and/or make RAPL readable "
    "(run as root, or start Zeus's `zeusd` daemon and set ZEUSD_SOCK_PATH); `python -m zeus.show_env` shows what "
    "Zeus detects. Otherwise use meter='auto' or meter='estimate' for a labelled CPU-time estimate."
)


@dataclass(frozen=True)
class ZeusProbe:
    """What Zeus can measure for this process.

    Args:
        gpu_indices: GPUs with an energy counter among those asked for.
        gpu_vendor: ``"nvml"``, ``"amdsmi"`` or ``None``.
        cpu: Whether RAPL CPU counters are readable (and were asked for).
        problems: Why each missing domain is missing, in words.
    """

    gpu_indices: tuple[int, ...] = ()
    gpu_vendor: str | None = None
    cpu: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def found(self) -> bool:
        """Whether Zeus found at least one counter to read."""
        return bool(self.gpu_indices) or self.cpu

    @property
    def source(self) -> str:
        """The source label of measurements made with these counters."""
        parts = ([self.gpu_vendor or "nvml"] if self.gpu_indices else []) + (["rapl"] if self.cpu else [])
        return "measured: zeus/" + "+".join(parts)


def probe_zeus(gpu_indices: Sequence[int] = (), read_cpu: bool = True) -> ZeusProbe:
    """Find which of the asked-for counters Zeus can read, without starting a monitor.

    Args:
        gpu_indices: CUDA device indices this process uses (after ``CUDA_VISIBLE_DEVICES``).
        read_cpu: Whether to look for RAPL CPU/DRAM counters (only one process per node should read them).

    Returns:
        The counters found and, for each missing one, the reason.
    """
    from zeus.device.cpu.common import ZeusBaseCPUError, ZeusCPUNoPermissionError
    from zeus.device.gpu.common import ZeusBaseGPUError
    from zeus.monitor import energy as zeus_energy

    # Zeus logs every miss at INFO ("RAPL is not supported on this CPU."); we report misses ourselves, once.
    logging.getLogger("zeus").setLevel(max(logging.getLogger("zeus").getEffectiveLevel(), logging.WARNING))
    problems: list[str] = []
    found_gpus: tuple[int, ...] = ()
    vendor: str | None = None
    if gpu_indices:
        try:
            gpus = zeus_energy.get_gpus()
        except ZeusBaseGPUError as err:
            problems.append(f"no GPU counters: NVML/AMDSMI could not be initialised (no NVIDIA driver?): {err}")
        else:
            vendor = "amdsmi" if type(gpus).__name__.startswith("AMD") else "nvml"
            found_gpus = tuple(i for i in gpu_indices if 0 <= i < len(gpus))
            if missing := sorted(set(gpu_indices) - set(found_gpus)):
                problems.append(f"GPU indices {missing} not found by Zeus (it sees {len(gpus)} GPUs)")
    else:
        problems.append("no GPU in use by this process")
    cpu = False
    if read_cpu:
        try:
            zeus_energy.get_cpus()
        except ZeusCPUNoPermissionError:
            problems.append("RAPL counters exist but are not readable (needs root since Linux 5.10, or zeusd)")
        except ZeusBaseCPUError:
            problems.append("no RAPL counters (/sys/class/powercap/intel-rapl is missing: a VM or a non-x86 CPU?)")
        else:
            cpu = True
    return ZeusProbe(gpu_indices=found_gpus, gpu_vendor=vendor, cpu=cpu, problems=tuple(problems))


class ZeusMeter:
    """Measured energy from hardware counters, through Zeus's ``ZeusMonitor``.

    Monitors only the GPUs this process uses (``gpu_indices``) and, when ``read_cpu``, the RAPL CPU and DRAM zones
    (package-wide: let one process per node read them). The monitor is built on first use, never at import.

    Args:
        gpu_indices: CUDA device indices to monitor; ``None`` means the current CUDA device if CUDA is available,
            else none.
        read_cpu: Whether to read RAPL CPU/DRAM counters.
        approx_instant_energy: Passed to Zeus: a GPU window shorter than the counter period is approximated as
            instant power x duration instead of reading 0.

    Raises:
        EnergyMeterError: On first use, if Zeus finds none of the asked-for counters; the message says what is
            missing and how to fix it.
    """

    def __init__(
        self, gpu_indices: Sequence[int] | None = None, read_cpu: bool = True, approx_instant_energy: bool = False
    ) -> None:
        if gpu_indices is not None and not all(isinstance(i, int) and i >= 0 for i in gpu_indices):
            raise ValueError(f"ZeusMeter(gpu_indices={gpu_indices!r}): expected CUDA device indices >= 0, e.g. [0].")
        self._gpu_indices = None if gpu_indices is None else tuple(gpu_indices)
        self.read_cpu = read_cpu
        self.approx_instant_energy = approx_instant_energy
        self._probe: ZeusProbe | None = None
        self._monitor: Any = None

    @property
    def probe(self) -> ZeusProbe:
        """What Zeus can read for this meter (probed once)."""
        if self._probe is None:
            self._probe = probe_zeus(self.gpu_indices, self.read_cpu)
        return self._probe

    @property
    def gpu_indices(self) -> tuple[int, ...]:
        """The GPUs this meter was asked to monitor."""
        if self._gpu_indices is None:
            import torch

            self._gpu_indices = (torch.cuda.current_device(),) if torch.cuda.is_available() else ()
        return self._gpu_indices

    @property
    def source(self) -> str:
        """``"measured: zeus/..."``, naming the counters read."""
        return self.probe.source

    @property
    def update_period_s(self) -> float:
        """The slowest update period among the counters read."""
        return NVML_UPDATE_PERIOD_S if self.probe.gpu_indices else RAPL_UPDATE_PERIOD_S

    def _ensure_monitor(self) -> Any:
        if self._monitor is None:
            probe = self.probe
            if not probe.found:
                raise EnergyMeterError(
                    "ZeusMeter: Zeus found no energy counter to read: " + "; ".join(probe.problems) + ". " + _HOW_TO_FIX
                )
            from zeus.monitor import ZeusMonitor

            self._monitor = ZeusMonitor(
                gpu_indices=list(probe.gpu_indices),
                cpu_indices=None if probe.cpu else [],
                approx_instant_energy=self.approx_instant_energy,
            )
            log.info("ZeusMeter: measuring with %s (GPUs %s)", probe.source, list(probe.gpu_indices))
        return self._monitor

    @property
    def reads_counters(self) -> bool:
        """Whether :meth:`read` works: every monitored GPU has an energy counter.

        GPUs older than Volta have none; Zeus integrates their power samples, which only its windows can do.
        """
        monitor = self._ensure_monitor()
        return all(monitor.gpus.supports_get_total_energy_consumption(i) for i in monitor.gpu_indices)

    def read(self) -> tuple[float, ...]:
        """The counters now (mJ), for :meth:`joules_between`: each monitored GPU's, then each RAPL package's.

        One reading per batch instead of a window's two: on the H100 of ``docs/gpu-validation.md`` an NVML reading
        costs ~4 ms, so a window per batch (end one, begin the next) cost twice that and left the time between its two
        readings out of every window. Synchronises the monitored GPUs first, as a window does.
        """
        monitor = self._ensure_monitor()
        if monitor.gpu_indices:
            from zeus.monitor import energy as zeus_energy  # the sync its windows use

            zeus_energy.sync_execution_fn(monitor.gpu_indices, sync_with=monitor.sync_with)
        values = [float(monitor.gpus.get_total_energy_consumption(i)) for i in monitor.gpu_indices]
        for cpu in monitor.cpu_indices:
            m = monitor.cpus.get_total_energy_consumption(cpu)
            values += [float(m.cpu_mj), float(m.dram_mj or 0.0)]
        return tuple(values)

    def joules_between(self, start: tuple[float, ...], end: tuple[float, ...]) -> float:
        """Joules of every domain between two readings of :meth:`read`; NaN if a counter went backwards.

        Example:
            >>> ZeusMeter().joules_between((1000.0, 50.0), (3500.0, 80.0))  # 2.5 J of GPU, 0.03 J of CPU
            2.53
            >>> ZeusMeter().joules_between((1000.0,), (900.0,))  # a counter that wrapped or was reset
            nan
        """
        steps = [b - a for a, b in zip(start, end, strict=True)]
        return math.nan if any(d < 0 for d in steps) else sum(steps) / 1000.0

    def begin(self, name: str) -> None:
        """Start the window ``name`` (synchronises the monitored GPUs)."""
        self._ensure_monitor().begin_window(name)

    def end(self, name: str) -> Measurement:
        """End the window ``name`` and return its joules per domain.

        Zeus's own warning about a GPU window that read 0 J is silenced here: the callback decides per-batch or
        per-loop windows from the counter's update period and flags short loops itself.
        """
        monitor = self._ensure_monitor()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*measured as zero.*")
            zm = monitor.end_window(name)
        gpu_j = {int(i): float(j) for i, j in zm.gpu_energy.items()}
        cpu_j = float(sum(zm.cpu_energy.values())) if zm.cpu_energy else None
        dram_j = float(sum(zm.dram_energy.values())) if zm.dram_energy else None
        negative = {f"gpu{i}": j for i, j in gpu_j.items() if j < 0}
        negative.update({k: v for k, v in (("cpu", cpu_j), ("dram", dram_j)) if v is not None and v < 0})
        if negative:
            # A counter went backwards: RAPL wrapped around without Zeus's tracker seeing it (it starts on the first
            # read and polls every 0.1-1 s), or the driver reset a counter. A negative figure would win any
            # "minimise energy" objective, so it becomes NaN: the trial then fails with a reason.
            warnings.warn(
                f"ZeusMeter: the window {name!r} read a negative energy ({', '.join(negative)}: "
                f"{', '.join(f'{v:.6g} J' for v in negative.values())}): a counter wrapped around unnoticed or was "
                "reset; reporting NaN for it. Keep Zeus's wrap-around tracker running (one long-lived meter per "
                "process) and windows shorter than the counter's wrap period.",
                stacklevel=2,
            )
            gpu_j = {i: (math.nan if j < 0 else j) for i, j in gpu_j.items()}
            cpu_j = math.nan if cpu_j is not None and cpu_j < 0 else cpu_j
            dram_j = math.nan if dram_j is not None and dram_j < 0 else dram_j
        return Measurement(time_s=float(zm.time), gpu_j=gpu_j, cpu_j=cpu_j, dram_j=dram_j, source=self.source)
