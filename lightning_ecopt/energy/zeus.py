"""Measured energy through Zeus: NVML (or AMDSMI) GPUs, RAPL CPU/DRAM, SoCs (Apple silicon, NVIDIA Jetson).

Zeus is imported only when a meter is built: ``import zeus.monitor`` takes 1-2 s, and Zeus starts helper processes
that re-import ``__main__``, so nothing here touches it at import time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import re
import sys
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning_ecopt._checks import checked_flags
from lightning_ecopt.energy.measurement import Measurement
from lightning_ecopt.exceptions import EnergyMeterError

__all__ = [
    "ZeusMeter",
    "ZeusProbe",
    "cuda_order_problem",
    "cuda_visible_devices_problem",
    "probe_zeus",
    "soc_figures",
]

log = logging.getLogger(__name__)

#: NVML's energy counter updates every ~20-100 ms; we plan around the slow end.
NVML_UPDATE_PERIOD_S = 0.1
#: RAPL counters update about every millisecond.
RAPL_UPDATE_PERIOD_S = 0.001
#: More than this mean power in one RAPL zone (a CPU package or its DRAM) is no reading but a counter that wrapped
#: around unnoticed: the largest server CPUs draw ~500 W, and one undetected wrap adds the counter's whole range
#: (~262 kJ on Intel: 262 kW over a 1 s window). Windows are judged over at least 1 s, so RAPL's own jitter on a
#: millisecond window never trips it.
RAPL_MAX_ZONE_POWER_W = 1000.0
#: An SoC's figures are trusted to this period. Zeus integrates a Jetson's rails from power samples its helper process
#: takes every ~0.1 s (and at each reading); Apple's IOReport energy counters are taken at the same, slow end until
#: measured on a Mac.
SOC_UPDATE_PERIOD_S = 0.1
#: The label of each SoC lightning_ecopt reads (:attr:`ZeusProbe.source`).
SOC_APPLE, SOC_JETSON = "apple-soc", "jetson"

_HOW_TO_FIX = (
    "To measure: run on an NVIDIA GPU (Volta or newer) with its driver installed, and/or make RAPL readable "
    "(run as root, or start Zeus's `zeusd` daemon and set ZEUSD_SOCK_PATH); on Apple silicon `pip install "
    "zeus-apple-silicon`; an NVIDIA Jetson is read through its power rails. `python -m zeus.show_env` shows what "
    "Zeus detects. Otherwise use meter='auto' or meter='estimate' for a labelled CPU-time estimate."
)


@dataclass(frozen=True)
class ZeusProbe:
    """What Zeus can measure for this process.

    Args:
        gpu_indices: GPUs with an energy counter among those asked for.
        gpu_vendor: ``"nvml"``, ``"amdsmi"`` or ``None``.
        cpu: Whether RAPL CPU counters are readable (and were asked for).
        dram: Whether RAPL has a DRAM zone beside them (server CPUs; not AMD's or most client CPUs'): the label says
            so, since figures with and without the memory's joules are not comparable.
        problems: Why each missing domain is missing, in words.
        soc: The SoC whose counters are read: ``"apple-soc"`` (Apple silicon, through ``zeus-apple-silicon``),
            ``"jetson"`` (an NVIDIA Jetson's power rails), or ``None``. Its counters cover the whole chip (or
            module), so Zeus's GPU and RAPL counters are not read beside them.
        soc_metrics: The figures the SoC gives (Zeus's field names: ``cpu_total_mj``, ``gpu_mj``...; a Jetson's
            ``cpu_energy_mj``, ``gpu_energy_mj``, ``total_energy_mj``).
        soc_gpu: The device index of the on-chip GPU whose joules the SoC's figures hold (``mps`` on a Mac,
            ``cuda:0`` on a Jetson): in a GPU figure keyed by it, or, on a Jetson without a GPU rail, in its input rail
            or a rail that holds the CPU and GPU together (the Orin Nano's and NX's ``VDD_CPU_GPU_CV``). ``None``
            where the figures leave it out.
        soc_cpu_rail: The label of the rail Zeus reads as a Jetson's CPU (``VDD_CPU_GPU_CV`` on an Orin Nano or NX,
            Xavier NX), where its sysfs files say; ``None`` where they cannot be read. A rail whose label names the
            GPU too is not logged as the CPU's (:func:`soc_figures`).
        soc_unread: Why an SoC Zeus found is not read, where NVML reads this process's GPUs (discrete ones beside
            a Jetson: an IGX Orin); ``None`` otherwise. Logged when the monitor starts.

    Example:
        >>> ZeusProbe(soc="apple-soc", soc_metrics=("cpu_total_mj", "dram_mj", "gpu_mj"), soc_gpu=0).source
        'measured: zeus/apple-soc+dram'
        >>> ZeusProbe(soc="apple-soc", soc_metrics=("cpu_total_mj", "gpu_mj"), soc_gpu=0).source  # no DRAM figure
        'measured: zeus/apple-soc'
        >>> ZeusProbe(soc="jetson", soc_metrics=("cpu_energy_mj", "gpu_energy_mj"), soc_gpu=0).source
        'measured: zeus/jetson-cpu-gpu'
    """

    gpu_indices: tuple[int, ...] = ()
    gpu_vendor: str | None = None
    cpu: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)
    dram: bool = False
    soc: str | None = None
    soc_metrics: tuple[str, ...] = ()
    soc_gpu: int | None = None
    soc_cpu_rail: str | None = None
    soc_unread: str | None = None

    @property
    def found(self) -> bool:
        """Whether Zeus found at least one counter to read."""
        return bool(self.gpu_indices) or self.cpu or self.soc is not None

    @property
    def measured_gpus(self) -> tuple[int, ...]:
        """The device indices whose joules are measured: Zeus's GPU counters', and the SoC's on-chip GPU."""
        return self.gpu_indices + (() if self.soc_gpu is None or self.soc_gpu in self.gpu_indices else (self.soc_gpu,))

    @property
    def update_period_s(self) -> float:
        """The slowest update period among the counters found."""
        return NVML_UPDATE_PERIOD_S if self.gpu_indices else SOC_UPDATE_PERIOD_S if self.soc else RAPL_UPDATE_PERIOD_S

    @property
    def source(self) -> str:
        """The source label of measurements made with these counters.

        A Jetson without an input rail is labelled by the rails read (``jetson-cpu-gpu``, ``jetson-cpu``,
        ``jetson-gpu``): its figures leave the rest of the module out, unlike ``jetson``'s. Apple silicon whose
        counters give the memory's joules is ``apple-soc+dram``, as RAPL with a DRAM zone is ``rapl+dram``.
        """
        parts = ([self.gpu_vendor or "nvml"] if self.gpu_indices else []) + (["rapl"] if self.cpu else [])
        parts += ["dram"] if self.cpu and self.dram else []
        if self.soc == SOC_JETSON and "total_energy_mj" not in self.soc_metrics:
            rails = [r for r in ("cpu", "gpu") if f"{r}_energy_mj" in self.soc_metrics]
            if rails == ["cpu"] and _holds_gpu(self.soc_cpu_rail):  # VDD_CPU_GPU_CV: the CPU and the GPU
                rails.append("gpu")
            parts.append("-".join([SOC_JETSON, *rails]))
        elif self.soc is not None:
            parts.append(self.soc)
            # As RAPL's: Apple figures with and without the memory's joules are not comparable (a chip whose
            # IOReport gives no DRAM figure).
            parts += ["dram"] if self.soc == SOC_APPLE and "dram_mj" in self.soc_metrics else []
        return "measured: zeus/" + "+".join(parts)


def cuda_visible_devices_problem(value: str | None) -> str | None:
    """Why Zeus cannot map ``CUDA_VISIBLE_DEVICES`` to NVML devices, or ``None`` when it can (or it is unset).

    Zeus reads each entry with ``int()`` and opens that NVML index: GPU UUIDs (``GPU-5d3f...``) and MIG names raise
    a ValueError, and ``-1`` (CUDA's "no GPU") an NVML invalid-argument error, at the first window.

    Args:
        value: The variable's value (``os.environ.get("CUDA_VISIBLE_DEVICES")``).

    Returns:
        The problem and its fix, in words.

    Example:
        >>> cuda_visible_devices_problem("0,1") is None, cuda_visible_devices_problem(None) is None
        (True, True)
        >>> cuda_visible_devices_problem("-1")[:55]
        "CUDA_VISIBLE_DEVICES='-1' is not a list of GPU indices "
    """
    if not value or all(entry.strip().isdigit() for entry in value.split(",")):
        return None  # unset, empty (Zeus: no GPU) or indices
    return (
        f"CUDA_VISIBLE_DEVICES={value!r} is not a list of GPU indices ('0,1'), the only form Zeus maps to NVML "
        "devices (not GPU UUIDs, MIG names or '-1'); set it to the GPUs' indices (`nvidia-smi -L` lists each GPU's "
        "index and UUID), or to '' to hide every GPU"
    )


def _package_zones(cpus: Any) -> list[int]:
    """Zeus's indices of the RAPL zones that are CPU packages (``package-N``), in its list of CPUs.

    Zeus makes a "CPU" of every top-level ``intel-rapl:N`` zone. On Intel client and workstation CPUs one of them is
    ``psys``, the whole platform (package included): summing it with the packages would count the package twice.
    A zone read through ``zeusd`` has no name in Zeus: it is read from the zone's ``name`` file in sysfs (readable
    without root); a zone whose name cannot be read at all is kept.
    """
    members = getattr(cpus, "cpus", None)
    if members is None:  # a CPUs object that does not list its members: take every index
        return list(range(len(cpus)))
    zones = []
    for index, cpu in enumerate(members):
        name = getattr(getattr(cpu, "rapl_file", None), "name", None)
        if name is None:
            name = _sysfs_zone_name(getattr(cpus, "rapl_dir", None), getattr(cpu, "cpu_index", None))
        if name is None or str(name).startswith("package"):
            zones.append(index)
    return zones


def _reads_dram(cpus: Any, zones: Sequence[int]) -> bool:
    """Whether Zeus reads a DRAM zone beside any of the CPU package ``zones`` (a CPUs object that cannot say: no)."""
    supports = getattr(cpus, "supports_get_dram_energy_consumption", None)
    if supports is None:
        return False
    try:
        return any(bool(supports(i)) for i in zones)
    except (OSError, ValueError, LookupError):
        return False


def _sysfs_zone_name(rapl_dir: Any, zone: Any) -> str | None:
    """The name of the top-level RAPL zone ``intel-rapl:<zone>`` under ``rapl_dir`` (``package-0``, ``psys``)."""
    if rapl_dir is None or not isinstance(zone, int):
        return None
    name = Path(rapl_dir) / f"intel-rapl:{zone}" / "name"
    try:
        return name.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


@contextlib.contextmanager
def _unlistable_gpus_as_none(zeus_energy: Any) -> Iterator[None]:
    """While building a monitor that reads no GPU: a GPU list Zeus cannot make counts as no GPU.

    ``ZeusMonitor`` always lists the GPUs, and treats a GPU library it cannot initialise as no GPU; but an entry of
    ``CUDA_VISIBLE_DEVICES`` it cannot parse (a UUID, ``-1``) raises instead, even when no GPU is to be measured.
    """
    from zeus.device.gpu.common import ZeusBaseGPUError, ZeusGPUInitError

    real = zeus_energy.get_gpus

    def listing() -> Any:
        try:
            return real()
        except (ZeusBaseGPUError, ValueError) as err:
            raise ZeusGPUInitError(f"GPUs not listed: {err}") from err

    zeus_energy.get_gpus = listing
    try:
        yield
    finally:
        zeus_energy.get_gpus = real


@contextlib.contextmanager
def _plain_spawn() -> Iterator[None]:
    """While Zeus starts a helper process (a RAPL wrap-around tracker): one that starts from any process, cheaply.

    Zeus starts each tracker with the ``spawn`` context, whose child first takes this process's global start method
    and re-imports its ``__main__``:

    - in a joblib (loky) worker, as ``hydra/launcher=joblib`` runs trials, the global start method is ``'loky'``,
      which a fresh interpreter does not know: the tracker died at start (``ValueError: cannot find context for
      'loky'``, a traceback on stderr per RAPL zone) and counted no wrap-around, so a window that spanned one read
      NaN and failed its trial;
    - re-importing the user's script (``examples/train.py`` imports torch and Lightning) cost each tracker seconds of
      CPU time, which the package counter holds: RAPL counted it in the process's first window.

    Here a start method that is not one of Python's is ``'spawn'`` for the while, and ``__main__`` is a bare module,
    which the child does not import: the tracker runs Zeus's code only. Both are restored on leaving.
    """
    import multiprocessing
    import types

    method = multiprocessing.get_start_method(allow_none=True)
    foreign = method is not None and method not in multiprocessing.get_all_start_methods()
    main = sys.modules.get("__main__")
    if foreign:
        multiprocessing.set_start_method("spawn", force=True)
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = main
        if foreign:
            multiprocessing.set_start_method(method, force=True)


def _start_wrap_trackers(cpus: Any, zones: Sequence[int]) -> None:
    """Start the RAPL wrap-around trackers of the CPU package ``zones`` (and their DRAM zones) now; stop them at exit.

    Zeus 0.16 starts each at its zone's first reading, that is inside the first window, whose figure then held the
    tracker's start-up; and from a loky worker the start failed (:func:`_plain_spawn`). Zeus stops a tracker (a
    non-daemonic process that polls forever) in an ``atexit`` handler, which a process started by ``multiprocessing``
    (a loky worker, a ``ddp_spawn`` rank, a user's ``Process``) never runs: it joins its children first, so it never
    exited. Each tracker is also stopped by a ``multiprocessing`` finalizer, which runs before that join. Zones read
    through ``zeusd`` have no tracker here (the daemon reads the counters).
    """
    import multiprocessing.util

    members = getattr(cpus, "cpus", None)
    if members is None:
        return
    with _plain_spawn():
        for index in zones:
            for zone in (getattr(members[index], "rapl_file", None), getattr(members[index], "dram", None)):
                tracker = getattr(zone, "wraparound_tracker", None)  # Zeus's property starts the tracker
                stop = getattr(tracker, "_stop", None)
                if stop is not None and tracker not in _STOPPED_AT_EXIT:
                    _STOPPED_AT_EXIT.add(tracker)
                    multiprocessing.util.Finalize(None, stop, exitpriority=10)


#: The wrap-around trackers given a finalizer (:func:`_start_wrap_trackers`): each once, however many meters read them.
_STOPPED_AT_EXIT: weakref.WeakSet[Any] = weakref.WeakSet()


def cuda_order_problem(gpus: Any, indices: Sequence[int]) -> str | None:
    """Why CUDA's device ``i`` may be another GPU than Zeus's (NVML's) GPU ``i``, or ``None``.

    CUDA numbers GPUs fastest first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``; NVML, and so Zeus, numbers them by PCI
    bus. On a node of one GPU model the two agree; on a mixed node ``cuda:0`` can be NVML's GPU 1, and Zeus would
    read another GPU's joules. Detected where the two name a device differently; a check that cannot run (no CUDA,
    a GPU list without names) finds no problem.

    Args:
        gpus: Zeus's GPUs (``get_name(i)``).
        indices: The CUDA device indices to be measured.
    """
    if not indices or os.environ.get("CUDA_DEVICE_ORDER", "").strip().upper() == "PCI_BUS_ID":
        return None
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        names = [(i, str(torch.cuda.get_device_name(i)), str(gpus.get_name(i))) for i in indices]
    except (AttributeError, AssertionError, RuntimeError, OSError, ValueError, LookupError):
        return None
    for i, cuda_name, nvml_name in names:
        if cuda_name.strip().casefold() != nvml_name.strip().casefold():
            return (
                f"CUDA's device {i} is a {cuda_name} but NVML's GPU {i} (the one Zeus reads) is a {nvml_name}: CUDA "
                "numbers GPUs fastest first and NVML by PCI bus, so the figures would be another GPU's. Set "
                "CUDA_DEVICE_ORDER=PCI_BUS_ID in the environment before the process starts"
            )
    return None


def _readable_gpus(gpus: Any, indices: Sequence[int], vendor: str, problems: list[str]) -> tuple[int, ...]:
    """The GPUs among ``indices`` whose energy (or, before Volta, power) Zeus can read once; the rest in ``problems``.

    Zeus decides that a GPU has an energy counter from its architecture alone: a vGPU guest or a driver without
    power readings lists the GPU, then answers "Not Supported" at the first window, in the middle of a test loop.
    """
    from zeus.device.gpu.common import ZeusBaseGPUError

    readable = []
    for i in indices:
        try:
            if gpus.supports_get_total_energy_consumption(i):
                gpus.get_total_energy_consumption(i)
            else:
                gpus.get_instant_power_usage(i)
        except ZeusBaseGPUError as err:
            problems.append(
                f"no GPU counters: {vendor.upper()} lists GPU {i} but cannot read its energy or power ({err}): a "
                f"virtual GPU or a driver without power readings? (`nvidia-smi -q -d POWER` shows what it reports)"
            )
        else:
            readable.append(i)
    return tuple(readable)


#: The figures of each SoC that lightning_ecopt reads (Zeus's field names, in mJ). Apple's per-core and per-cluster
#: lists are parts of ``cpu_total_mj`` and are left out.
_SOC_FIELDS = {
    SOC_APPLE: ("cpu_total_mj", "dram_mj", "gpu_mj", "gpu_sram_mj", "ane_mj"),
    SOC_JETSON: ("cpu_energy_mj", "gpu_energy_mj", "total_energy_mj"),
}


def _holds_gpu(rail: str | None) -> bool:
    """Whether a Jetson rail Zeus reads as the CPU's holds the GPU too: its label names both (``VDD_CPU_GPU_CV``).

    Zeus files a rail under the CPU when its label names the CPU, before it looks for the GPU.
    """
    return rail is not None and "gpu" in rail.lower()


def _jetson_rail_label(soc: Any, rail: str) -> str | None:
    """The label of the Jetson rail Zeus reads as ``rail`` (``"cpu"``...), from the INA3221's sysfs files; or ``None``.

    Zeus keeps the files it reads each rail's power from (``power1_input`` or ``in1_input`` beside ``in1_label``;
    ``in_power1_input`` or ``in_voltage1_input`` beside ``rail_name_1`` on older kernels), not the label.
    """
    strategy = (getattr(soc, "power_measurement", None) or {}).get(f"{rail}_power_mw")
    path = getattr(strategy, "power_path", None) or getattr(strategy, "voltage_path", None)
    if path is None or (found := re.fullmatch(r"(in_power|in_voltage|power|in)(\d+)_input", Path(path).name)) is None:
        return None
    name = f"rail_name_{found[2]}" if found[1].startswith("in_") else f"in{found[2]}_label"
    try:
        return Path(path).with_name(name).read_text(encoding="utf-8", errors="replace").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def soc_figures(
    soc: str, mj: Any, gpu_index: int = 0, cpu_rail: str | None = None
) -> tuple[dict[int, float], float | None, float | None, dict[str, float]]:
    """An SoC's figures (Zeus's ``SoCMeasurement``, mJ) as joules per domain: GPU, CPU, DRAM and the others.

    Each joule is counted once. Apple silicon: the CPU is ``cpu_total_mj`` (its cores and clusters are parts of it),
    the GPU ``gpu_mj`` + ``gpu_sram_mj``, the memory ``dram_mj``, and the Neural Engine ``"ane"``. A Jetson: the CPU
    and GPU rails, and where the module's input rail is read (``total_energy_mj``, which holds both) the rest of the
    module as ``"module_rest"``, so the total is the input rail, never rails plus total. Where the input rail reads
    below the rails' sum (each rail is sampled on its own), the rest is 0, never negative, and the total that sum. A
    Jetson rail Zeus reads as the CPU's whose label names the GPU too (``cpu_rail``: ``VDD_CPU_GPU_CV`` on an Orin
    Nano or NX, Xavier NX, which have no GPU rail) is not the CPU's: it is an other part, by its label lowercased. A
    figure the SoC does not give stays ``None`` (absent for the GPU and the others), never 0.

    Args:
        soc: ``"apple-soc"`` or ``"jetson"`` (:attr:`ZeusProbe.soc`).
        mj: Zeus's ``AppleSiliconMeasurement`` or ``JetsonMeasurement`` (a window's, or a cumulative reading).
        gpu_index: The device index to key the on-chip GPU by.
        cpu_rail: The label of the rail Zeus reads as a Jetson's CPU (:attr:`ZeusProbe.soc_cpu_rail`), where known.

    Returns:
        ``(gpu_j, cpu_j, dram_j, other_j)``, as :class:`~lightning_ecopt.energy.Measurement` takes them.

    Example:
        >>> from zeus.device.soc.apple import AppleSiliconMeasurement
        >>> soc_figures("apple-soc", AppleSiliconMeasurement(cpu_total_mj=3000, gpu_mj=1500, gpu_sram_mj=500,
        ...                                                  ane_mj=250))
        ({0: 2.0}, 3.0, None, {'ane': 0.25})
        >>> from zeus.device.soc.jetson import JetsonMeasurement
        >>> soc_figures("jetson", JetsonMeasurement(cpu_energy_mj=2000.0, gpu_energy_mj=5000.0, total_energy_mj=9000.0))
        ({0: 5.0}, 2.0, None, {'module_rest': 2.0})
        >>> soc_figures("jetson", JetsonMeasurement(cpu_energy_mj=2000.0, gpu_energy_mj=5000.0, total_energy_mj=6900.0))
        ({0: 5.0}, 2.0, None, {'module_rest': 0.0})
        >>> soc_figures("jetson", JetsonMeasurement(cpu_energy_mj=6000.0, total_energy_mj=9000.0), 0, "VDD_CPU_GPU_CV")
        ({}, None, None, {'vdd_cpu_gpu_cv': 6.0, 'module_rest': 3.0})
    """

    def joules(name: str) -> float | None:
        value = getattr(mj, name, None)
        return None if value is None else float(value) / 1000.0

    if soc == SOC_APPLE:
        gpu, sram, ane = joules("gpu_mj"), joules("gpu_sram_mj"), joules("ane_mj")
        gpu_j = {} if gpu is None and sram is None else {gpu_index: (gpu or 0.0) + (sram or 0.0)}
        return gpu_j, joules("cpu_total_mj"), joules("dram_mj"), ({} if ane is None else {"ane": ane})
    if soc == SOC_JETSON:
        cpu, gpu, total = joules("cpu_energy_mj"), joules("gpu_energy_mj"), joules("total_energy_mj")
        # Each rail is sampled on its own: the input rail may read below the rails it holds. The rest is then 0, not
        # negative (no energy is), and the total the rails' sum.
        rails_j = (cpu or 0.0) + (gpu or 0.0)
        other: dict[str, float] = {}
        if cpu is not None and cpu_rail is not None and _holds_gpu(cpu_rail):
            other[cpu_rail.lower()], cpu = cpu, None
        if total is not None:
            other["module_rest"] = max(total - rails_j, 0.0)
        return ({} if gpu is None else {gpu_index: gpu}), cpu, None, other
    raise ValueError(f"soc_figures(soc={soc!r}): unknown SoC; choose from {', '.join(map(repr, _SOC_FIELDS))}.")


def _probe_soc(zeus_energy: Any, gpu_indices: Sequence[int], problems: list[str]) -> ZeusProbe | None:
    """The SoC Zeus monitors (Apple silicon, a Jetson) and its figures, or ``None`` (the reason in ``problems``).

    Zeus's ``get_soc`` builds its SoC once per process (a Jetson's starts the helper process that samples its rails),
    and ``ZeusMonitor`` reuses it.
    """
    from zeus.device.soc.apple import AppleSilicon
    from zeus.device.soc.common import ZeusSoCInitError
    from zeus.device.soc.jetson import Jetson

    try:
        soc = zeus_energy.get_soc()
    except ZeusSoCInitError as err:
        # Elsewhere no SoC is the rule, not a problem to report. The fix (`pip install zeus-apple-silicon`) is said
        # once, after the problems (make_meter's warning, _HOW_TO_FIX).
        if sys.platform == "darwin":
            problems.append(f"no SoC counters: {str(err).rstrip('.')}")
        return None
    kind = SOC_APPLE if isinstance(soc, AppleSilicon) else SOC_JETSON if isinstance(soc, Jetson) else None
    if kind is None:
        problems.append(f"no SoC counters: Zeus monitors a {type(soc).__name__}, an SoC lightning_ecopt cannot map")
        return None
    try:
        available = soc.get_available_metrics()
    except (RuntimeError, OSError, ValueError, queue.Empty) as err:
        problems.append(f"no SoC counters: Zeus found {kind} but could not read it ({type(err).__name__}: {err})")
        return None
    metrics = tuple(name for name in _SOC_FIELDS[kind] if name in available)
    if not metrics:
        problems.append(f"no SoC counters: Zeus found {kind} but it gives none of {', '.join(_SOC_FIELDS[kind])}")
        return None
    cpu_rail = _jetson_rail_label(soc, "cpu") if kind == SOC_JETSON else None
    # A Jetson's on-chip GPU is measured without a GPU rail where the input rail (which holds it) is read, or a rail
    # that holds the CPU and GPU (the Orin Nano's and NX's VDD_CPU_GPU_CV); its joules are then in those figures.
    has_gpu = any(name.startswith("gpu") for name in metrics) or "total_energy_mj" in metrics or _holds_gpu(cpu_rail)
    gpu = (gpu_indices[0] if gpu_indices else 0) if has_gpu else None
    if missing := [i for i in gpu_indices if i != gpu]:
        problems.append(f"GPU indices {missing} are not {kind}'s on-chip GPU (device {gpu})")
    return ZeusProbe(problems=tuple(problems), soc=kind, soc_metrics=metrics, soc_gpu=gpu, soc_cpu_rail=cpu_rail)


def _no_gpu_library(err: Exception) -> bool:
    """Whether Zeus's ``get_gpus`` failed because neither NVML nor AMDSMI could be initialised at all.

    Zeus raises ``ZeusGPUInitError("NVML and AMDSMI unavailable. ...")`` then (a Jetson, which has no NVML energy
    API), in the same words from our floor, 0.15.1, to 0.16 (read in both releases' ``zeus.device.gpu``); its other
    ``ZeusGPUInitError`` s (``CUDA_VISIBLE_DEVICES`` naming MIG slices, zeusd) come from an NVML that works.
    """
    from zeus.device.gpu.common import ZeusGPUInitError

    return isinstance(err, ZeusGPUInitError) and "unavailable" in str(err)


def _discrete_gpu(index: int) -> str | None:
    """Why CUDA device ``index`` is not an SoC's on-chip GPU, as torch sees it; ``None`` where it may be.

    Asked only where this process has initialised CUDA already (probing must not initialise it: a forked DataLoader
    worker could not use it then); elsewhere, ``None``.
    """
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return None
    try:
        props = torch.cuda.get_device_properties(index)
    except (RuntimeError, AssertionError, ValueError):  # no such device: NVML's problems say what is missing
        return None
    if props.is_integrated:
        return None
    return f"torch says cuda:{index} ({props.name}) is a discrete GPU, whose joules the SoC's rails do not hold"


def probe_zeus(gpu_indices: Sequence[int] = (), read_cpu: bool = True) -> ZeusProbe:
    """Find which of the asked-for counters Zeus can read, without starting a monitor.

    An SoC's counters (Apple silicon, a Jetson) cover the whole chip, its CPU, GPU and memory; where Zeus finds one
    they are read instead of Zeus's GPU and RAPL counters, which would count its joules twice. Like RAPL's, they are
    read by one process per node (``read_cpu``). Where NVML reads the asked-for GPUs (discrete GPUs beside a Jetson,
    as on an IGX Orin: a Jetson's own GPU has no NVML energy counter), those are read as on any server, and the SoC's
    counters are not (:attr:`ZeusProbe.soc_unread` says so). The SoC's counters key this process's GPU only where it
    may be the SoC's own: NVML cannot be initialised at all, or lists it without an energy counter, and torch (where
    CUDA is initialised) calls it integrated; on any other NVML problem they are not read and its problems are said.

    Args:
        gpu_indices: CUDA device indices this process uses (after ``CUDA_VISIBLE_DEVICES``); on an SoC, the first
            keys its on-chip GPU's joules (none: device 0, as on ``mps``).
        read_cpu: Whether to look for RAPL CPU/DRAM counters, or an SoC's (only one process per node should read
            them).

    Returns:
        The counters found and, for each missing one, the reason.
    """
    from zeus.device.cpu.common import ZeusBaseCPUError, ZeusCPUNoPermissionError
    from zeus.device.gpu.common import ZeusBaseGPUError
    from zeus.monitor import energy as zeus_energy

    # Zeus logs every miss at INFO ("RAPL is not supported on this CPU."); we report misses ourselves, once. A level
    # the user set on Zeus's logger is theirs: only an unset one is raised (a root logger at DEBUG still gets WARNING).
    zeus_log = logging.getLogger("zeus")
    if zeus_log.level == logging.NOTSET:
        zeus_log.setLevel(max(zeus_log.getEffectiveLevel(), logging.WARNING))
    problems: list[str] = []
    soc_problems: list[str] = []
    soc = _probe_soc(zeus_energy, gpu_indices, soc_problems) if read_cpu else None
    if soc is not None and not gpu_indices:
        return soc
    problems += [] if soc is not None else soc_problems
    found_gpus: tuple[int, ...] = ()
    vendor: str | None = None
    # Whether this process's GPU may be the SoC's own: NVML cannot be initialised at all (a Jetson has no NVML energy
    # API), or it lists the GPU and finds no energy counter. Any other NVML problem (CUDA_VISIBLE_DEVICES naming GPUs
    # by UUID, a cuda/NVML order it cannot map) says nothing about which GPU it is, so the SoC's rails are not its.
    soc_gpu_possible = False
    if gpu_indices:
        try:
            if (visible := cuda_visible_devices_problem(os.environ.get("CUDA_VISIBLE_DEVICES"))) is not None:
                raise ValueError(visible)
            gpus = zeus_energy.get_gpus()
        except ValueError as err:
            problems.append(f"no GPU counters: {err}")
        except ZeusBaseGPUError as err:
            problems.append(f"no GPU counters: NVML/AMDSMI could not be initialised (no NVIDIA driver?): {err}")
            soc_gpu_possible = _no_gpu_library(err)
        else:
            vendor = "amdsmi" if type(gpus).__name__.startswith("AMD") else "nvml"
            found_gpus = tuple(i for i in gpu_indices if 0 <= i < len(gpus))
            if missing := sorted(set(gpu_indices) - set(found_gpus)):
                problems.append(f"GPU indices {missing} not found by Zeus (it sees {len(gpus)} GPUs)")
            if vendor == "nvml" and (order := cuda_order_problem(gpus, found_gpus)) is not None:
                problems.append(f"no GPU counters: {order}")
                found_gpus = ()
            listed = found_gpus
            found_gpus = _readable_gpus(gpus, found_gpus, vendor, problems)
            soc_gpu_possible = vendor == "nvml" and gpu_indices[0] in listed and gpu_indices[0] not in found_gpus
    else:
        problems.append("no GPU in use by this process")
    soc_unread = None
    if soc is not None and not found_gpus:
        discrete = _discrete_gpu(gpu_indices[0]) if soc_gpu_possible else None
        if soc_gpu_possible and discrete is None:
            return soc  # a Jetson's on-chip GPU has no NVML energy counter: the SoC's counters measure it
        why = discrete or "NVML could not tell whether it is the SoC's on-chip GPU"
        problems.append(f"the {soc.soc} SoC's counters were not read as GPU {gpu_indices[0]}'s: {why}")
    elif soc is not None:
        # NVML reads this process's GPUs: discrete ones beside the SoC (an IGX Orin or a Jetson host with a PCIe
        # GPU), whose joules the SoC's rails do not hold. They are read as on any server, and the SoC's are not.
        soc_unread = (
            f"the {soc.soc} SoC's counters were not read: NVML reads GPU {', '.join(map(str, found_gpus))}, a discrete "
            "GPU beside the SoC, whose joules its rails do not hold"
        )
    cpu = dram = False
    if read_cpu:
        try:
            with _plain_spawn():  # Zeus up to 0.15 starts the wrap-around trackers as it lists the zones
                cpus = zeus_energy.get_cpus()
        except ZeusCPUNoPermissionError:
            problems.append("RAPL counters exist but are not readable (needs root since Linux 5.10, or zeusd)")
        except ZeusBaseCPUError:
            problems.append(
                "no RAPL counters (macOS has none: a Mac's are its SoC's)"
                if sys.platform == "darwin"
                else "no RAPL counters (Zeus reads them on Linux only)"
                if sys.platform == "win32"
                else "no RAPL counters (/sys/class/powercap/intel-rapl is missing: a VM or a non-x86 CPU?)"
            )
        else:
            zones = _package_zones(cpus)
            cpu, dram = bool(zones), _reads_dram(cpus, zones)
            if not cpu:
                problems.append("RAPL has no CPU package zone (package-N), only platform-wide ones such as psys")
    return ZeusProbe(
        gpu_indices=found_gpus, gpu_vendor=vendor, cpu=cpu, problems=tuple(problems), dram=dram, soc_unread=soc_unread
    )


def _checked_gpu_indices(caller: str, gpu_indices: Any, expected: str) -> None:
    """Refuse ``caller``'s ``gpu_indices`` unless it is a list of CUDA device indices (ints >= 0).

    Args:
        caller: Whose argument it is, for the message (``"ZeusMeter"``).
        gpu_indices: The value given.
        expected: What the argument takes, as the type error's message says it.

    Raises:
        TypeError: Not a list (a string is not one).
        ValueError: An index not an int >= 0.

    >>> _checked_gpu_indices("f", [0, 1], "a list")
    >>> _checked_gpu_indices("f", [-1], "a list")
    Traceback (most recent call last):
    ValueError: f(gpu_indices=[-1]): expected CUDA device indices >= 0, e.g. [0].
    """
    if isinstance(gpu_indices, str | bytes) or not isinstance(gpu_indices, Sequence):
        raise TypeError(f"{caller}(gpu_indices={gpu_indices!r}): expected {expected}.")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in gpu_indices):
        raise ValueError(f"{caller}(gpu_indices={gpu_indices!r}): expected CUDA device indices >= 0, e.g. [0].")


class ZeusMeter:
    """Measured energy from hardware counters, through Zeus's ``ZeusMonitor``.

    Monitors only the GPUs this process uses (``gpu_indices``) and, when ``read_cpu``, the RAPL CPU and DRAM zones
    (package-wide: let one process per node read them). The monitor is built on first use, never at import.

    Args:
        gpu_indices: CUDA device indices to monitor; ``None`` means the device of the trainer it is given to
            (``EnergyCallback`` binds it, see :meth:`bind_gpus`), or used alone the current CUDA device if CUDA is
            available, else none.
        read_cpu: Whether to read RAPL CPU/DRAM counters.
        approx_instant_energy: Passed to Zeus: a GPU window shorter than the counter period is approximated as
            instant power x duration instead of reading 0.

    Raises:
        TypeError: ``gpu_indices`` is not a list (or ``None``), or ``read_cpu`` or ``approx_instant_energy`` is not a
            bool.
        ValueError: A device index is not an int >= 0.
        EnergyMeterError: On first use, if Zeus finds none of the asked-for counters; the message says what is
            missing and how to fix it.
    """

    def __init__(
        self, gpu_indices: Sequence[int] | None = None, read_cpu: bool = True, approx_instant_energy: bool = False
    ) -> None:
        if gpu_indices is not None:
            _checked_gpu_indices(
                "ZeusMeter", gpu_indices, "a list of CUDA device indices, e.g. [0] (None: the trainer's device)"
            )
        read_cpu, approx_instant_energy = checked_flags(
            "ZeusMeter", read_cpu=read_cpu, approx_instant_energy=approx_instant_energy
        )
        self._gpu_indices = None if gpu_indices is None else tuple(gpu_indices)
        self.gpus_given = gpu_indices is not None
        """Whether ``gpu_indices`` was given (else the meter follows the device it is bound to)."""
        self.read_cpu = read_cpu
        self.approx_instant_energy = approx_instant_energy
        self._probe: ZeusProbe | None = None
        self._monitor: Any = None
        self._gpu_slots = 0  # GPU counters in a reading of read(), after its clock
        self._soc_slots = 0  # SoC figures in a reading of read(), at its end
        self._said_rails_over_input = False  # a Jetson's input rail read below its rails' sum: said once
        self._window_starts: dict[str, float] = {}  # each open window's start on the monotonic clock

    @property
    def probe(self) -> ZeusProbe:
        """What Zeus can read for this meter (probed once)."""
        if self._probe is None:
            self._probe = probe_zeus(self.gpu_indices, self.read_cpu)
        return self._probe

    def bind_gpus(self, gpu_indices: Sequence[int]) -> bool:
        """Monitor ``gpu_indices`` (the devices a trainer computes on), where none were given and no window ran yet.

        Returns:
            Whether the meter now monitors them (``False``: it was given its own, or has measured already).
        """
        if self.gpus_given or self._monitor is not None:
            return False
        self._gpu_indices = tuple(gpu_indices)
        self._probe = None
        return True

    @property
    def gpu_indices(self) -> tuple[int, ...]:
        """The GPUs this meter was asked to monitor."""
        if self._gpu_indices is None:
            import torch

            self._gpu_indices = (torch.cuda.current_device(),) if torch.cuda.is_available() else ()
        return self._gpu_indices

    @property
    def source(self) -> str:
        """``"measured: zeus/..."``, naming the counters read.

        Raises:
            EnergyMeterError: Zeus finds no counter to read (as :meth:`begin` would): no label says measured then.
        """
        self._check_found()
        return self.probe.source

    @property
    def update_period_s(self) -> float:
        """The slowest update period among the counters read."""
        return self.probe.update_period_s

    def _check_found(self) -> None:
        if not self.probe.found:
            raise EnergyMeterError(
                "ZeusMeter: Zeus found no energy counter to read: "
                + "; ".join(self.probe.problems)
                + ". "
                + _HOW_TO_FIX
            )

    def _ensure_monitor(self) -> Any:
        if self._monitor is None:
            self._check_found()
            probe = self.probe
            from zeus.monitor import ZeusMonitor
            from zeus.monitor import energy as zeus_energy

            guard = contextlib.nullcontext() if probe.gpu_indices else _unlistable_gpus_as_none(zeus_energy)
            # The CPU packages only: a psys zone holds them too (see _package_zones).
            cpus = zeus_energy.get_cpus() if probe.cpu else None
            zones = _package_zones(cpus) if cpus is not None else []
            with guard:
                self._monitor = ZeusMonitor(
                    gpu_indices=list(probe.gpu_indices),
                    cpu_indices=zones,
                    approx_instant_energy=self.approx_instant_energy,
                )
            if zones:
                _start_wrap_trackers(cpus, zones)
            log.info("ZeusMeter: measuring with %s (GPUs %s)", probe.source, list(probe.measured_gpus))
            if probe.soc_unread is not None:
                log.info("ZeusMeter: %s.", probe.soc_unread)
        return self._monitor

    def _sync_soc(self) -> None:
        """Wait for the on-chip GPU's queued work (Zeus synchronises only the GPUs of its GPU counters).

        PyTorch runs ``mps`` (Apple) and a Jetson's CUDA work asynchronously: a window would otherwise end before the
        work it measures.
        """
        import torch

        if self.probe.soc == SOC_APPLE and torch.backends.mps.is_available():
            torch.mps.synchronize()
        elif self.probe.soc == SOC_JETSON and self.probe.soc_gpu is not None and torch.cuda.is_available():
            torch.cuda.synchronize(self.probe.soc_gpu)

    @property
    def reads_counters(self) -> bool:
        """Whether :meth:`read` works: every monitored GPU has an energy counter.

        GPUs older than Volta have none; Zeus integrates their power samples, which only its windows can do.
        """
        monitor = self._ensure_monitor()
        return all(monitor.gpus.supports_get_total_energy_consumption(i) for i in monitor.gpu_indices)

    def read(self) -> tuple[float, ...]:
        """The clock (s) and the counters now (mJ), for :meth:`joules_between`: each GPU's, then each RAPL zone's.

        One reading per batch instead of a window's two: on the H100 of ``docs/gpu-validation.md`` an NVML reading
        costs ~4 ms, so a window per batch (end one, begin the next) cost twice that and left the time between its two
        readings out of every window. Synchronises the monitored GPUs first, as a window does.
        """
        monitor = self._ensure_monitor()
        if monitor.gpu_indices:
            from zeus.monitor import energy as zeus_energy  # the sync its windows use

            zeus_energy.sync_execution_fn(monitor.gpu_indices, sync_with=monitor.sync_with)
        if self.probe.soc is not None:
            self._sync_soc()
        values = [time.monotonic()]
        values += [float(monitor.gpus.get_total_energy_consumption(i)) for i in monitor.gpu_indices]
        self._gpu_slots = len(monitor.gpu_indices)
        for cpu in monitor.cpu_indices:
            m = monitor.cpus.get_total_energy_consumption(cpu)
            values += [float(m.cpu_mj), float(m.dram_mj or 0.0)]
        self._soc_slots = 0
        if self.probe.soc is not None:
            # The SoC's cumulative figures, as one number: their sum as soc_figures counts it (a Jetson's input rail,
            # not rails + input). A Jetson's is a round trip to Zeus's sampling process: ~0.2 ms on x86.
            gpu_j, cpu_j, dram_j, other_j = soc_figures(
                self.probe.soc, monitor.soc.get_total_energy_consumption(), cpu_rail=self.probe.soc_cpu_rail
            )
            counted = Measurement(time_s=0.0, gpu_j=gpu_j, cpu_j=cpu_j, dram_j=dram_j, other_j=other_j)
            values.append(1000.0 * counted.total_j)
            self._soc_slots = 1
        return tuple(values)

    def joules_between(self, start: tuple[float, ...], end: tuple[float, ...]) -> float:
        """Joules of every domain between two readings of :meth:`read`; NaN if a counter went backwards or wrapped.

        A RAPL zone's step worth more than ``RAPL_MAX_ZONE_POWER_W`` over the time between the readings (at least
        1 s) is a wrap-around Zeus's tracker missed, as in :meth:`end`.

        Example:
            >>> ZeusMeter().joules_between((0.0, 1000.0, 50.0), (0.5, 3500.0, 80.0))  # (s, mJ, mJ): 2.5 J + 0.03 J
            2.53
            >>> ZeusMeter().joules_between((0.0, 1000.0), (0.5, 900.0))  # a counter that wrapped or was reset
            nan
        """
        steps = [b - a for a, b in zip(start[1:], end[1:], strict=True)]
        if any(d < 0 for d in steps):
            return math.nan
        bound_mj = 1000.0 * RAPL_MAX_ZONE_POWER_W * max(end[0] - start[0], 1.0)
        if any(d > bound_mj for d in steps[self._gpu_slots : len(steps) - self._soc_slots]):
            warnings.warn(
                f"ZeusMeter: a RAPL zone read more than {RAPL_MAX_ZONE_POWER_W:g} W between two per-batch readings: "
                "a counter wrapped around without Zeus's tracker seeing it; reporting NaN for that batch.",
                stacklevel=2,
            )
            return math.nan
        return sum(steps) / 1000.0

    def begin(self, name: str) -> None:
        """Start the window ``name`` (synchronises the monitored GPUs)."""
        monitor = self._ensure_monitor()
        if self.probe.soc is not None:
            self._sync_soc()
        monitor.begin_window(name)
        self._window_starts[name] = time.monotonic()

    def end(self, name: str) -> Measurement:
        """End the window ``name`` and return its joules per domain.

        Zeus's own warning about a GPU window that read 0 J is silenced here: the callback decides per-batch or
        per-loop windows from the counter's update period and flags short loops itself. The window's seconds are
        this meter's, on the monotonic clock: Zeus times a window with the wall clock (``time.time()``), which a step
        (NTP, ``date -s``, a resumed VM) would make negative or an hour long, and with it the loop's time, its power
        and the RAPL plausibility bound.
        """
        monitor = self._ensure_monitor()
        if self.probe.soc is not None:
            self._sync_soc()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*measured as zero.*")
            zm = monitor.end_window(name)
        began = self._window_starts.pop(name, None)
        gpu_j = {int(i): float(j) for i, j in zm.gpu_energy.items()}
        time_s = float(zm.time) if began is None else time.monotonic() - began
        if self.probe.soc is not None:  # the SoC's counters alone: Zeus's GPU and RAPL counters are not read
            return self._soc_measurement(name, time_s, zm.soc_energy)
        cpu_zones = {int(i): float(j) for i, j in (zm.cpu_energy or {}).items()}
        dram_zones = {int(i): float(j) for i, j in (zm.dram_energy or {}).items()}
        negative = {f"gpu{i}": j for i, j in gpu_j.items() if j < 0}
        for domain, zones in (("cpu", cpu_zones), ("dram", dram_zones)):
            negative.update({f"{domain}{i}": j for i, j in zones.items() if j < 0})
        # RAPL counters wrap around (~262 kJ on Intel, ~65 kJ on AMD). Zeus's tracker adds the wraps it sees; one it
        # misses (it starts on the first read, and polls every 0.1 s near the counter's top) makes a window read
        # true - range (negative, above) or, where the end read counts a wrap the start read had missed,
        # true + range: more power than any CPU package or DRAM draws, over a window shorter than range / 1 kW
        # (~4 min on Intel, ~1 min on AMD). Over a longer window, or when the true figure exceeds the range, the
        # shifted figure looks plausible and is not caught: a read within ~0.1 s after a wrap (about 1 in 10,000
        # reads on Intel at 200 W) would take it. Only reading the counters ourselves, continuously, would close it.
        bound_j = RAPL_MAX_ZONE_POWER_W * max(time_s, 1.0)
        implausible = {
            f"{domain}{i}": j for domain, zones in (("cpu", cpu_zones), ("dram", dram_zones)) for i, j in zones.items()
        }
        implausible = {k: j for k, j in implausible.items() if j > bound_j}
        if negative:
            # A counter went backwards: RAPL wrapped around unnoticed, or the driver reset a counter. A negative
            # figure would win any "minimise energy" objective, so it becomes NaN: the trial then fails with a reason.
            warnings.warn(
                f"ZeusMeter: the window {name!r} read a negative energy ({', '.join(negative)}: "
                f"{', '.join(f'{v:.6g} J' for v in negative.values())}): a counter wrapped around unnoticed or was "
                "reset; reporting NaN for it. Keep Zeus's wrap-around tracker running (one long-lived meter per "
                "process) and windows shorter than the counter's wrap period.",
                stacklevel=2,
            )
        if implausible:
            warnings.warn(
                f"ZeusMeter: the window {name!r} read more energy than a RAPL zone can draw "
                f"({', '.join(f'{k}: {v:.6g} J' for k, v in implausible.items())} in {time_s:.3f} s, above "
                f"{RAPL_MAX_ZONE_POWER_W:g} W): a counter wrapped around without Zeus's tracker seeing it; reporting "
                "NaN for it. Keep one long-lived meter per process so the tracker runs before the window opens.",
                stacklevel=2,
            )
        bad = negative.keys() | implausible.keys()
        gpu_j = {i: (math.nan if f"gpu{i}" in bad else j) for i, j in gpu_j.items()}

        def total(domain: str, zones: dict[int, float]) -> float | None:
            if not zones:
                return None
            return math.nan if any(f"{domain}{i}" in bad for i in zones) else sum(zones.values())

        cpu_j, dram_j = total("cpu", cpu_zones), total("dram", dram_zones)
        return Measurement(time_s=time_s, gpu_j=gpu_j, cpu_j=cpu_j, dram_j=dram_j, source=self.source)

    def _soc_measurement(self, name: str, time_s: float, soc_mj: Any) -> Measurement:
        """A window's measurement from the SoC's figures (:func:`soc_figures`); a negative one is NaN, as in ``end``."""
        probe = self.probe
        if soc_mj is None:  # Zeus lost its SoC between the probe and the window: no figure, not 0 J
            return Measurement(time_s=time_s, gpu_j={}, source=self.source)
        gpu_j, cpu_j, dram_j, other_j = soc_figures(str(probe.soc), soc_mj, probe.soc_gpu or 0, probe.soc_cpu_rail)
        figures = {f"gpu{i}": j for i, j in gpu_j.items()} | {"cpu": cpu_j, "dram": dram_j} | other_j
        if probe.soc == SOC_JETSON and (input_mj := getattr(soc_mj, "total_energy_mj", None)) is not None:
            input_j = float(input_mj) / 1000.0
            if input_j < 0:  # a reset, which soc_figures's rest of the module (0 or above) does not show
                figures["module_rest"] = input_j
            rails_j = sum(gpu_j.values()) + (cpu_j or 0.0) + sum(j for k, j in other_j.items() if k != "module_rest")
            if 0 <= input_j < rails_j and not self._said_rails_over_input:
                self._said_rails_over_input = True
                warnings.warn(
                    f"ZeusMeter: in the window {name!r} the Jetson's input rail read {input_j:.6g} J, below "
                    f"the {rails_j:.6g} J of the rails it holds (its CPU and GPU rails, each sampled on its own): the "
                    "rest of the module is taken as 0 J and the total as the rails' sum, never a negative figure. "
                    "Said once per meter; a large gap means a rail is misread (`python -m zeus.show_env`).",
                    stacklevel=3,
                )
        negative = {k: j for k, j in figures.items() if j is not None and j < 0}
        if negative:
            warnings.warn(
                f"ZeusMeter: the window {name!r} read a negative energy from {probe.soc} "
                f"({', '.join(f'{k}: {v:.6g} J' for k, v in negative.items())}): a counter was reset; reporting NaN "
                "for it.",
                stacklevel=3,
            )
            gpu_j = {i: (math.nan if f"gpu{i}" in negative else j) for i, j in gpu_j.items()}
            cpu_j = math.nan if "cpu" in negative else cpu_j
            dram_j = math.nan if "dram" in negative else dram_j
            other_j = {k: (math.nan if k in negative else j) for k, j in other_j.items()}
        return Measurement(time_s=time_s, gpu_j=gpu_j, cpu_j=cpu_j, dram_j=dram_j, source=self.source, other_j=other_j)
