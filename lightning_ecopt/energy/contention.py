"""How busy other processes kept the machine's CPUs during a window: the honesty check on a CPU-side figure.

Both kinds of CPU-side energy figure depend on what else runs on the machine. RAPL counts the whole package, so a
measured CPU/DRAM figure includes other processes' work; the CPU-time estimate counts only this process's CPU time,
but on oversubscribed cores that time grows too (threads that spin while waiting for descheduled peers: on 2 shared
cores the same digits CNN measured 50x fewer samples/J under a neighbour's load). Neither can be corrected after the
fact; a figure taken under contention can be flagged.

:func:`cpu_snapshot` reads Linux's ``/proc/stat`` (every CPU's busy time, a virtual machine's stolen time
included) and this process tree's CPU time (``/proc/self/stat`` with its reaped children, and its live
descendants: DataLoader workers are this job's work, not contention); :func:`others_share` turns two snapshots into
the share of the machine's CPU capacity that other processes used between them. Ranks started beside this process
(Lightning's ``ddp_spawn``, ``torchrun``, SLURM) rather than by it are not its descendants, and count as other
processes. Elsewhere (macOS, Windows) the snapshot is ``None`` and so is the share: unknown, never 0.

Example::

    start = cpu_snapshot()
    run_the_loop()
    share = others_share(start, cpu_snapshot())  # e.g. 0.48: others kept about half the CPUs busy
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONTENTION_WARN_SHARE", "MIN_WINDOW_TICKS", "CpuSnapshot", "allowed_cpus", "cpu_snapshot", "others_share"]

CONTENTION_WARN_SHARE = 0.25
"""Above this share of the CPUs busy with other processes, a loop's energy figures are flagged as contended."""

MIN_WINDOW_TICKS = 20
"""Shortest window, in clock ticks (0.2 s at Linux's usual 100 Hz), whose share is reported. ``/proc`` counts CPU
time in whole ticks, so one tick more or less on a 10 ms window on 2 CPUs reads as 40-50 % contention; over 20
ticks a tick per CPU is 5 % (0.2 s is also the shortest window the shipped examples measure)."""

_PROC = Path("/proc")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU time counters at one instant.

    Args:
        wall_s: ``time.perf_counter()``.
        busy_s: CPU-seconds the CPUs counted (the machine's, or those asked for) spent busy (user, nice, system, irq,
            softirq, steal) since boot.
        own_s: CPU-seconds this process tree used (this process, its live descendants, and the children each of them
            reaped).
        n_cpus: CPUs counted in ``busy_s``.
        tick_s: The counters' resolution, one clock tick (``1 / SC_CLK_TCK``).
    """

    wall_s: float
    busy_s: float
    own_s: float
    n_cpus: int
    tick_s: float = 0.01


def cpu_snapshot(cpus: Collection[int] | None = None) -> CpuSnapshot | None:
    """The machine's and this process tree's CPU time now, or ``None`` where ``/proc`` cannot tell (not Linux).

    Args:
        cpus: Count only these CPUs' busy time (:func:`allowed_cpus`: the ones this process may run on, for a figure
            that only they affect); ``None``: every CPU of the machine (RAPL counts the whole package). Where
            ``/proc/stat`` does not list each of them (LXCFS renumbers a container's CPUs), every CPU it lists.
    """
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        lines = (_PROC / "stat").read_text(encoding="ascii").splitlines()
        per_cpu = [line for line in lines if line.startswith("cpu") and line[3:4].isdigit()]
        if not per_cpu:
            return None  # no per-CPU rows: the capacity is unknown
        # Only the rows asked for are parsed: the measured path (every CPU) reads the total line alone.
        picked = [] if cpus is None else [row for row in map(str.split, per_cpu) if int(row[0][3:]) in cpus]
        rows = [[int(v) for v in row[1:]] for row in picked]
        if cpus is None or len(rows) != len(cpus):
            # Every CPU; also where /proc/stat does not number the CPUs as the affinity mask does (LXCFS renumbers
            # a container's CPUs from 0, and scopes the total line to them).
            rows, n_cpus = [[int(v) for v in lines[0].split()[1:]]], len(per_cpu)
        else:
            n_cpus = len(rows)
        own = _tree_ticks()
    except (OSError, ValueError, IndexError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: already inside user and nice]
    busy = sum(sum(row[:8]) - row[3] - row[4] for row in rows)
    return CpuSnapshot(time.perf_counter(), busy / ticks, own / ticks, max(n_cpus, 1), 1.0 / ticks)


def allowed_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on (its affinity: a SLURM job's cpuset, ``taskset``), or ``None`` where unknown.

    Other processes on other CPUs do not slow this one's threads, so they do not move a CPU-time estimate: a job
    given 4 of a node's 64 cores is not contended by the jobs on the other 60.
    """
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is None:
        return None
    try:
        return frozenset(getaffinity(0))
    except OSError:
        return None


def others_share(start: CpuSnapshot | None, end: CpuSnapshot | None) -> float | None:
    """The share (0-1) of the machine's CPU capacity other processes used between two snapshots.

    Args:
        start: The window's first snapshot.
        end: Its last.

    Returns:
        ``(busy CPU time - this process tree's CPU time) / (wall time x CPUs)``, clipped to [0, 1]; ``None`` when a
        snapshot is missing or the window is shorter than :data:`MIN_WINDOW_TICKS` ticks (too short to resolve).

    Example:
        >>> a = CpuSnapshot(wall_s=0.0, busy_s=100.0, own_s=10.0, n_cpus=2)
        >>> others_share(a, CpuSnapshot(wall_s=2.0, busy_s=103.0, own_s=11.0, n_cpus=2))  # 3 busy, 1 ours, of 4
        0.5
        >>> others_share(a, CpuSnapshot(wall_s=0.01, busy_s=100.01, own_s=10.0, n_cpus=2)) is None  # one tick
        True
    """
    if start is None or end is None or end.wall_s - start.wall_s < MIN_WINDOW_TICKS * end.tick_s:
        return None
    others = (end.busy_s - start.busy_s) - (end.own_s - start.own_s)
    share = others / ((end.wall_s - start.wall_s) * end.n_cpus)
    return min(max(share, 0.0), 1.0)


def _tree_ticks() -> int:
    """Clock ticks of CPU time used by this process, its live descendants and the children each of them reaped.

    Descendants are found through ``/proc/<pid>/task/<tid>/children`` (a few small reads; scanning all of ``/proc``
    would cost milliseconds per snapshot), falling back to the scan where the kernel lacks those files.
    """
    me = os.getpid()
    rest = _stat_fields(me)
    if rest is None:
        raise OSError("cannot read /proc/self/stat")
    total = sum(int(v) for v in rest[11:15])  # utime stime cutime cstime
    try:
        descendants = _descendants(me)
    except OSError:
        descendants = _descendants_by_scan(me)
    for pid in descendants:
        fields = _stat_fields(pid)
        if fields is not None:
            # Its reaped children too: a worker that a live child (a DDP rank) reaped moves into its cutime.
            total += sum(int(v) for v in fields[11:15])
    return total


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (field 3 on: state, ppid, ...), or ``None`` if it is gone.

    Read as bytes: the command name is whatever bytes the process was named with (a script's file name, or
    ``prctl(PR_SET_NAME)``), cut at 15 bytes, so it may be no text in any encoding (a UTF-8 character cut in two);
    the fields after it are ASCII.
    """
    try:
        data = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'.
    return data[data.rindex(b")") + 2 :].decode("ascii").split()


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in (_PROC / str(parent) / "task").iterdir():
            try:
                kids = [int(v) for v in (task / "children").read_text(encoding="ascii").split()]
            except FileNotFoundError:
                if parent == pid:
                    raise  # no children files on this kernel: scan instead
                continue
            found += kids
            todo += kids
    return found


def _descendants_by_scan(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child, [])
    return found
