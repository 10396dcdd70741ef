"""Estimate energy from the CPU time a process used, where no hardware counter can be read."""

from __future__ import annotations

import time
from collections.abc import Callable

from lightning_ecopt.energy.measurement import Measurement

__all__ = ["CPU_TIME_SOURCE", "DEFAULT_WATTS_PER_THREAD", "CpuTimeEstimator", "cpu_time_source"]

#: Watts drawn by one busy hardware thread. A typical server CPU draws 150-280 W (TDP) over 32-128 hardware threads
#: (2-5 W each) and a desktop CPU 65-125 W over 8-32 threads (4-8 W each); 5 W sits in the middle of both. Set the
#: figure for your CPU (TDP / hardware threads) when you compare estimates across machines.
DEFAULT_WATTS_PER_THREAD = 5.0

#: The estimate's label at its defaults (:data:`DEFAULT_WATTS_PER_THREAD`, no idle power).
CPU_TIME_SOURCE = "estimated: cpu-time"


def cpu_time_source(watts_per_thread: float = DEFAULT_WATTS_PER_THREAD, idle_power_w: float = 0.0) -> str:
    """The CPU-time estimate's source label: the model's name, and its constants where they are not the defaults.

    Estimates made with other constants are another model: a sweep compares trials' labels and refuses to mix two
    (a run resumed with ``watts_per_thread=4`` beside trials of 5 W would otherwise rank them on one scale).

    Example:
        >>> cpu_time_source(), cpu_time_source(4.0), cpu_time_source(5.0, 10.0)
        ('estimated: cpu-time', 'estimated: cpu-time (4 W/thread)', 'estimated: cpu-time (5 W/thread + 10 W idle)')
    """
    if float(watts_per_thread) == DEFAULT_WATTS_PER_THREAD and float(idle_power_w) == 0:
        return CPU_TIME_SOURCE
    # In parentheses, not after a comma: the labels of several loops or trials are joined with commas.
    idle = f" + {float(idle_power_w):g} W idle" if idle_power_w else ""
    return f"{CPU_TIME_SOURCE} ({float(watts_per_thread):g} W/thread{idle})"


class CpuTimeEstimator:
    """An energy model: process CPU time x watts per busy hardware thread, plus optional idle power x wall time.

    The figures are estimates, labelled ``"estimated: cpu-time"`` (with the constants where they are not the defaults:
    :func:`cpu_time_source`): they rank configurations run on one machine
    (more CPU-seconds cost more energy) but are not joules anyone measured. CPU time is :func:`time.process_time`:
    every thread of this process, user and system time; data-loader worker processes are not counted. Other threads'
    work (a second Trainer in another thread) is counted as the loop's, and no contention figure sees it.

    Args:
        watts_per_thread: Watts per busy hardware thread (default :data:`DEFAULT_WATTS_PER_THREAD`).
        idle_power_w: Watts charged for every wall-clock second whatever the load (default 0: only the work).
        clock: Returns ``(wall_s, cpu_s)``; injectable for tests.

    Raises:
        ValueError: If a wattage is negative or not finite.

    Example:
        >>> ticks = iter([(0.0, 0.0), (2.0, 3.0)])  # (wall s, CPU s) at begin and end
        >>> est = CpuTimeEstimator(watts_per_thread=4.0, idle_power_w=10.0, clock=ticks.__next__)
        >>> est.begin("loop")
        >>> m = est.end("loop")
        >>> m.cpu_j, m.time_s, m.source
        (32.0, 2.0, 'estimated: cpu-time (4 W/thread + 10 W idle)')
    """

    source: str = CPU_TIME_SOURCE
    """The label of every figure: :func:`cpu_time_source` of the constants (the class's: the defaults')."""

    def __init__(
        self,
        watts_per_thread: float = DEFAULT_WATTS_PER_THREAD,
        idle_power_w: float = 0.0,
        clock: Callable[[], tuple[float, float]] | None = None,
    ) -> None:
        for arg, value in (("watts_per_thread", watts_per_thread), ("idle_power_w", idle_power_w)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= float(value) < float("inf"):
                raise ValueError(
                    f"CpuTimeEstimator({arg}={value!r}): expected a finite number of watts >= 0, "
                    f"e.g. {arg}={DEFAULT_WATTS_PER_THREAD if arg == 'watts_per_thread' else 0.0}."
                )
        if float(watts_per_thread) == 0 and float(idle_power_w) == 0:
            raise ValueError(
                "CpuTimeEstimator(watts_per_thread=0, idle_power_w=0): every estimate would be 0 J (and samples/J "
                f"undefined); give watts_per_thread > 0 (default {DEFAULT_WATTS_PER_THREAD}) or idle_power_w > 0."
            )
        self.watts_per_thread = float(watts_per_thread)
        self.idle_power_w = float(idle_power_w)
        self.source = cpu_time_source(self.watts_per_thread, self.idle_power_w)
        self._clock = clock or _wall_and_cpu
        # ``read`` is the clock itself, not a method calling it: EnergyCallback calls it on every batch.
        self.read: Callable[[], tuple[float, float]] = self._clock
        """The clocks now, ``(wall_s, cpu_s)``: a reading for :meth:`joules_between` (no window is opened)."""
        self._starts: dict[str, tuple[float, float]] = {}

    @property
    def update_period_s(self) -> float:
        """Resolution of the process CPU clock, in seconds."""
        return float(time.get_clock_info("process_time").resolution)

    def begin(self, name: str) -> None:
        """Start the window ``name``.

        Raises:
            ValueError: If a window of that name is already open.
        """
        if name in self._starts:
            raise ValueError(f"CpuTimeEstimator.begin({name!r}): a window of that name is already open; end it first.")
        self._starts[name] = self._clock()

    def end(self, name: str) -> Measurement:
        """End the window ``name`` and return its estimate.

        Raises:
            ValueError: If no window of that name is open.
        """
        try:
            wall0, cpu0 = self._starts.pop(name)
        except KeyError:
            raise ValueError(
                f"CpuTimeEstimator.end({name!r}): no such window is open; call begin({name!r}) first."
            ) from None
        wall1, cpu1 = self._clock()
        time_s = max(wall1 - wall0, 0.0)
        return Measurement(time_s=time_s, cpu_j=self.joules_between((wall0, cpu0), (wall1, cpu1)), source=self.source)

    def joules_between(self, start: tuple[float, float], end: tuple[float, float]) -> float:
        """The estimate between two readings of :meth:`read`, in joules.

        Example:
            >>> est = CpuTimeEstimator(watts_per_thread=4.0, idle_power_w=10.0)
            >>> est.joules_between((0.0, 0.0), (2.0, 3.0))  # 3 CPU-s x 4 W + 2 s x 10 W
            32.0
        """
        time_s, cpu_s = max(end[0] - start[0], 0.0), max(end[1] - start[1], 0.0)
        return cpu_s * self.watts_per_thread + time_s * self.idle_power_w


def _wall_and_cpu() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()
