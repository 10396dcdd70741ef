"""The result of one energy window, and the protocol every energy meter follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CPU_COUNTERS",
    "ENERGY_KINDS",
    "CounterReader",
    "EnergyMeter",
    "Measurement",
    "source_kind",
    "source_problem",
    "zeus_counters",
]

#: The kinds of energy figures: read from hardware counters, or estimated by a model. Never summed or compared.
ENERGY_KINDS = ("measured", "estimated")

#: The counters of a ``ZeusMeter`` label (:func:`zeus_counters`, split at ``+``) that hold the CPU's joules: RAPL's
#: packages, or an SoC's CPU (``apple-soc``: an Apple silicon chip; ``jetson``: a Jetson module's input rail;
#: ``jetson-cpu-gpu`` and ``jetson-cpu``: a Jetson without one, its CPU rail).
CPU_COUNTERS = frozenset({"rapl", "apple-soc", "jetson", "jetson-cpu-gpu", "jetson-cpu"})


@dataclass(frozen=True)
class Measurement:
    """Time and energy of one measurement window.

    Args:
        time_s: Wall-clock duration of the window, in seconds.
        gpu_j: Joules per GPU, keyed by the CUDA device index as this process sees it.
        cpu_j: Joules of the CPU package(s), or ``None`` when not measured.
        dram_j: Joules of DRAM, or ``None`` when not measured.
        source: Where the figures come from: ``"measured: zeus/nvml"``, ``"measured: zeus/nvml+rapl"``,
            ``"measured: zeus/rapl"``, ``"measured: zeus/apple-soc+dram"``, ``"measured: zeus/jetson"`` or
            ``"estimated: cpu-time"``. The part before the colon says whether the joules were measured by hardware
            counters or estimated by a model.
        other_j: Joules of the parts beside the GPUs, CPU and DRAM that a counter read, by part: an Apple chip's
            Neural Engine (``"ane"``), the rest of a Jetson module (``"module_rest"``: its input rail less the CPU
            and GPU rails, 0 where the input rail reads below them; with no GPU rail, the GPU's joules are in it),
            a Jetson rail that holds the CPU and GPU together (by its label: ``"vdd_cpu_gpu_cv"``). Empty where none
            was read.

    Example:
        >>> m = Measurement(time_s=2.0, gpu_j={0: 100.0}, cpu_j=30.0, dram_j=10.0, source="measured: zeus/nvml+rapl")
        >>> m.total_j, m.gpu_total_j, m.power_w, m.kind
        (140.0, 100.0, 70.0, 'measured')
        >>> Measurement(time_s=1.0, gpu_j={0: 2.0}, cpu_j=3.0, other_j={"ane": 0.5}).total_j  # an Apple chip's ANE
        5.5
    """

    time_s: float
    gpu_j: dict[int, float] = field(default_factory=dict)
    cpu_j: float | None = None
    dram_j: float | None = None
    source: str = "unknown"
    other_j: dict[str, float] = field(default_factory=dict)

    @property
    def gpu_total_j(self) -> float:
        """Joules of all GPUs together (0 when no GPU was measured)."""
        return float(sum(self.gpu_j.values()))

    @property
    def total_j(self) -> float:
        """Joules of every domain together: GPUs, CPU, DRAM, others (unlike Zeus's ``total_energy``, GPUs only)."""
        return self.gpu_total_j + (self.cpu_j or 0.0) + (self.dram_j or 0.0) + self.other_total_j

    @property
    def other_total_j(self) -> float:
        """Joules of the parts in :attr:`other_j` together (0 when none was read)."""
        return float(sum(self.other_j.values()))

    @property
    def power_w(self) -> float:
        """Mean power over the window in watts (0 for an empty window)."""
        return self.total_j / self.time_s if self.time_s > 0 else 0.0

    @property
    def kind(self) -> str:
        """``"measured"`` or ``"estimated"``: the part of :attr:`source` before the colon."""
        return source_kind(self.source)


def source_kind(source: str) -> str:
    """Return the kind of an energy source label: the part before the colon, in lower case.

    Case is not part of the kind (the sweeper compares kinds in lower case too), so ``"Measured: zeus/rapl"`` and
    ``"measured: zeus/nvml"`` are one kind, never "mixed".

    >>> source_kind("measured: zeus/nvml"), source_kind("estimated: cpu-time"), source_kind("Measured: zeus/rapl")
    ('measured', 'estimated', 'measured')
    """
    return source.split(":", 1)[0].strip().lower()


def zeus_counters(source: str) -> str | None:
    """The counters a ``ZeusMeter`` label names (``"nvml+rapl"``), or ``None`` for any other label.

    >>> zeus_counters("measured: zeus/nvml+rapl"), zeus_counters("measured: zeus/rapl"), zeus_counters("estimated: x")
    ('nvml+rapl', 'rapl', None)
    >>> zeus_counters("measured: zeus/apple-soc+dram"), zeus_counters("measured: zeus/jetson")
    ('apple-soc+dram', 'jetson')
    """
    kind, _, rest = source.partition(":")
    rest = rest.strip().lower()
    if kind.strip().lower() != "measured" or not rest.startswith("zeus/"):
        return None
    return rest.removeprefix("zeus/")


def source_problem(source: object) -> str | None:
    """Why ``source`` is not an energy source label, or ``None`` when it is one.

    A label is a string whose kind (:func:`source_kind`) is one of :data:`ENERGY_KINDS`, such as
    ``"measured: zeus/nvml"`` or ``"estimated: cpu-time"``: without it nobody can tell a measured joule from an
    estimated one.

    >>> source_problem("measured: zeus/nvml") is None, source_problem("estimated") is None
    (True, True)
    >>> source_problem("zeus/nvml")
    "'zeus/nvml' does not say whether the joules were measured or estimated"
    """
    if not isinstance(source, str):
        return f"{source!r} ({type(source).__name__}) is not a text label"
    if source_kind(source) not in ENERGY_KINDS:
        return f"{source!r} does not say whether the joules were measured or estimated"
    return None


@runtime_checkable
class EnergyMeter(Protocol):
    """Something that measures the energy of named, possibly overlapping, windows.

    Implementations: :class:`~lightning_ecopt.energy.ZeusMeter` (hardware counters through Zeus) and
    :class:`~lightning_ecopt.energy.CpuTimeEstimator` (a CPU-time model). Tests inject their own.
    """

    @property
    def source(self) -> str:
        """The label every :class:`Measurement` of this meter carries."""
        ...

    @property
    def update_period_s(self) -> float:
        """The counter's update period: windows much shorter than this read 0 or one whole quantum."""
        ...

    def begin(self, name: str) -> None:
        """Start the window ``name``."""
        ...

    def end(self, name: str) -> Measurement:
        """End the window ``name`` and return its measurement."""
        ...


@runtime_checkable
class CounterReader(Protocol):
    """An energy meter that also hands out raw counter readings: the cheap path for one window per batch.

    A window costs book-keeping (a named entry, a :class:`Measurement`) that adds up over thousands of short
    batches; a reading is just the counters' values. :class:`~lightning_ecopt.callbacks.EnergyCallback` keeps two
    readings per batch and turns them into joules once the loop has ended, outside the timed batches.
    :class:`~lightning_ecopt.energy.CpuTimeEstimator` implements it; meters that do not are used through
    ``begin``/``end``.
    """

    def read(self) -> Any:
        """The counters now, in whatever form :meth:`joules_between` takes."""
        ...

    def joules_between(self, start: Any, end: Any) -> float:
        """Joules of every domain between two readings (what ``end(...).total_j`` of that window would be)."""
        ...
