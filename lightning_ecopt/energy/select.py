"""Choose an energy meter: measured through Zeus where counters exist, else the labelled CPU-time estimate."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from lightning_ecopt.energy import zeus
from lightning_ecopt.energy.estimator import DEFAULT_WATTS_PER_THREAD, CpuTimeEstimator
from lightning_ecopt.energy.measurement import EnergyMeter, Measurement
from lightning_ecopt.energy.zeus import _HOW_TO_FIX, ZeusMeter, _checked_gpu_indices
from lightning_ecopt.exceptions import EnergyMeterError

__all__ = ["METER_CHOICES", "CoveredElsewhere", "make_meter"]

#: The meter names ``make_meter`` and ``EnergyCallback(meter=...)`` accept.
METER_CHOICES = ("auto", "zeus", "estimate")


class CoveredElsewhere:
    """The meter of a process whose energy another process's counters already hold: it reads nothing.

    On a node with readable RAPL, the first process (local rank 0) reads the package-wide counters, which count every
    process on the node. The others that have no GPU Zeus can read (none in use, or no NVML) report their windows'
    wall time and no joules (``cpu_j`` and ``dram_j`` unread, no GPU), under the label of the counters that hold
    their CPU work, so summing the ranks' figures counts each joule once.

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


def _fit_to_device(meter: ZeusMeter, gpu_indices: Sequence[int]) -> None:
    """Bind a :class:`ZeusMeter` given no GPUs to this process's; refuse one that does not monitor them.

    ``ZeusMeter()`` resolves its GPU when first asked (``EnergyCallback`` asks for its label when built, before
    Lightning selects the trainer's device), so on ``cuda:1`` it would have read GPU 0 and labelled that measured.

    Raises:
        EnergyMeterError: The meter monitors other GPUs than one this process computes on.
    """
    if meter.bind_gpus(gpu_indices):
        return
    missing = [i for i in gpu_indices if i not in meter.gpu_indices]
    if missing:
        given = list(meter.gpu_indices)
        raise EnergyMeterError(
            f"EnergyCallback(meter=ZeusMeter(gpu_indices={given})) in a process that computes on GPU "
            f"{', '.join(map(str, missing))}: the figures would be another GPU's, labelled measured. Pass "
            f"ZeusMeter(gpu_indices={list(gpu_indices)}) (the trainer's device; ZeusMeter() follows it), or "
            "meter='auto' or 'zeus'."
        )


def _what_is_read(probe: zeus.ZeusProbe) -> str:
    """What the counters of ``probe`` measure, in words, for a warning that says what they leave out.

    >>> _what_is_read(zeus.ZeusProbe(cpu=True, dram=True)), _what_is_read(zeus.ZeusProbe(soc="jetson", soc_gpu=0))
    ('the CPU and DRAM', "the Jetson's rails (its on-chip GPU, device 0, among them)")
    """
    parts = [f"GPU {', '.join(map(str, probe.gpu_indices))}"] if probe.gpu_indices else []
    if probe.cpu:
        parts.append("the CPU and DRAM" if probe.dram else "the CPU")
    if probe.soc is not None:
        chip = "the Jetson's rails" if probe.soc == zeus.SOC_JETSON else "the Apple chip's counters"
        parts.append(
            chip + ("" if probe.soc_gpu is None else f" (its on-chip GPU, device {probe.soc_gpu}, among them)")
        )
    return " and ".join(parts) or "nothing"


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
        read_cpu: Whether this process should read the package-wide RAPL counters (local rank 0 only). A process
            that should not, with no GPU Zeus can read, gets :class:`CoveredElsewhere` where RAPL is readable.
        watts_per_thread: For the estimator: watts per busy hardware thread.
        idle_power_w: For the estimator: watts charged per wall-clock second.

    Returns:
        The meter, and a sentence to warn the user with (else ``None``) when ``"auto"`` fell back to the estimate, or
        measures with Zeus but cannot read a GPU in ``gpu_indices`` (the figures then leave that GPU out).

    Raises:
        EnergyMeterError: ``meter="zeus"`` and Zeus finds no counter, or cannot read a GPU in ``gpu_indices``; or
            a :class:`ZeusMeter` that reads RAPL is passed to a process that should not (``read_cpu=False``: local
            rank > 0), or one that monitors other GPUs than ``gpu_indices`` (a ``ZeusMeter()`` given none is bound
            to them). The message says what is missing and the fix.
        ValueError: Unknown meter name, a device index below 0, or a wattage the estimator refuses
            (:class:`CpuTimeEstimator`).
        TypeError: ``meter`` is neither a name nor an :class:`EnergyMeter`, or ``gpu_indices`` is not a list.

    Example:
        >>> meter, why = make_meter("estimate")
        >>> meter.source, why
        ('estimated: cpu-time', None)
    """
    _checked_gpu_indices(
        "make_meter", gpu_indices, "a list of the CUDA device indices this process uses, e.g. [0], or () for none"
    )
    if isinstance(meter, str):
        if meter not in METER_CHOICES:
            raise ValueError(f"meter={meter!r}: unknown meter; choose from {', '.join(map(repr, METER_CHOICES))}.")
        # Built (its wattage checked) before probing, so a bad wattage is refused on every machine, not only on one
        # where Zeus finds no counter and "auto" falls back to it (as EnergyCallback refuses it, whatever the meter).
        estimator = CpuTimeEstimator(watts_per_thread, idle_power_w)
        if meter == "estimate":
            return estimator, None
        if not read_cpu and ((rapl := zeus.probe_zeus((), read_cpu=True)).cpu or rapl.soc is not None):
            # A second process on a node whose first process (local rank 0) reads the package-wide RAPL counters (or
            # the SoC's, the whole chip's), which hold this process's CPU work too. Without a GPU of its own to read,
            # estimating here and adding the estimate to that would count the work twice and mix an estimate into a
            # measured figure.
            covered = CoveredElsewhere(rapl.source, rapl.update_period_s)
            if not gpu_indices:
                return covered, None
            gpu_probe = zeus.probe_zeus(gpu_indices, read_cpu=False)
            if meter == "auto" and not gpu_probe.gpu_indices:
                gpus = ", ".join(map(str, gpu_indices))
                return covered, (
                    f"lightning_ecopt: Zeus cannot read the energy of GPU {gpus} ({'; '.join(gpu_probe.problems)}): "
                    f"this process's CPU work is MEASURED by local rank 0's RAPL counters (source "
                    f"{rapl.source!r}) and its GPU is left out of the figures."
                )
        zeus_meter = ZeusMeter(gpu_indices=list(gpu_indices), read_cpu=read_cpu)
        probe = zeus_meter.probe
        unread = [i for i in gpu_indices if i not in probe.measured_gpus]
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
                f"for {_what_is_read(probe)} only (source '{probe.source}') and leave that GPU out. For the GPU's "
                "joules fix that (an NVIDIA driver with NVML, CUDA_VISIBLE_DEVICES as indices); `python -m "
                "zeus.show_env` shows what Zeus sees."
            )
        if meter == "zeus":
            zeus_meter._ensure_monitor()  # raises EnergyMeterError naming what is missing
            return zeus_meter, None
        if probe.found:
            return zeus_meter, None
        gpus = ", ".join(map(str, gpu_indices))
        why = (
            f"lightning_ecopt: Zeus found no energy counter ({'; '.join(probe.problems)}), so energy is ESTIMATED "
            f"from CPU time x {watts_per_thread:g} W per busy thread"
            + (f" + {idle_power_w:g} W idle" if idle_power_w else "")
            + f" (source {estimator.source!r})"
            + (f"; the estimate covers the CPU only: GPU {gpus}'s energy is left out" if gpu_indices else "")
            + (
                ". For measured joules on Apple silicon `pip install zeus-apple-silicon`."
                if sys.platform == "darwin"
                else ". For measured joules on Windows run on an NVIDIA GPU (its driver's NVML), or on Linux."
                if sys.platform == "win32"
                else ". For measured joules run on an NVIDIA GPU or make RAPL readable (root or zeusd)."
            )
        )
        return estimator, why
    if isinstance(meter, EnergyMeter):
        if isinstance(meter, ZeusMeter):
            _fit_to_device(meter, gpu_indices)
        if isinstance(meter, ZeusMeter) and meter.read_cpu and not read_cpu and (meter.probe.cpu or meter.probe.soc):
            raise EnergyMeterError(
                "EnergyCallback(meter=ZeusMeter(read_cpu=True)) in a process that is not its node's first (local rank "
                "> 0): RAPL's CPU and DRAM counters (and an SoC's) are package-wide, so local rank 0 reads them and "
                "this process would count them again. Under DDP pass meter='auto' or meter='zeus' (each rank then "
                "reads its own GPU and local rank 0 the CPU), or build the meter per process with "
                "ZeusMeter(gpu_indices=[local_rank], read_cpu=local_rank == 0), local_rank = "
                "int(os.environ.get('LOCAL_RANK', os.environ.get('SLURM_LOCALID', 0))) (torchrun and Lightning's "
                "launcher set LOCAL_RANK, SLURM's tasks SLURM_LOCALID)."
            )
        return meter, None
    raise TypeError(
        f"meter={meter!r}: expected one of {', '.join(map(repr, METER_CHOICES))} or an object with source, "
        "update_period_s, begin(name) and end(name) (the EnergyMeter protocol)."
    )
