"""What a sweep found: trial records, the sweep result, and the ``optimization_results.yaml`` file.

The YAML file is a superset of Hydra's Optuna sweeper's ``optimization_results.yaml``: ``name``, then for one
objective ``best_params`` and ``best_value``, and ``solutions: [{params, values}]`` (values in objective order) for
any number, so scripts written for Optuna keep working. It adds the file's ``format`` (:data:`RESULTS_FORMAT`), the
objectives with their directions, the label of the energy figures (on every solution and trial too), every trial
with its status, the hypervolume, the reference point and where it came from, counts, the settings, the provenance of
each run (:mod:`lightning_ecopt.provenance`), and last ``end: true``, so a reader can tell a whole file from one cut
short (a copy that stopped early). Files are written atomically (a temporary file in the same directory, then
``os.replace``), so a sweep killed mid-write never leaves a truncated file behind, and with the
mode ``open()`` gives a new file (0666 less the umask), not ``tempfile.mkstemp``'s owner-only 0600.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lightning_ecopt import frontier
from lightning_ecopt._numbers import format_number
from lightning_ecopt.sweeper import spelling

if TYPE_CHECKING:
    from lightning_ecopt.sweeper.objectives import Objective, OutcomeConstraint
    from lightning_ecopt.sweeper.settings import SweepSettings

__all__ = [
    "RESULTS_FILENAME",
    "RESULTS_FORMAT",
    "SweepResult",
    "TrialRecord",
    "atomic_write_bytes",
    "atomic_write_text",
    "config_key",
    "create_temporary_file",
    "front_candidates",
    "has_energy_figures",
    "loaded_checkpoint",
    "meets",
    "process_exists",
    "replace_file",
    "results_to_dict",
    "scalar",
    "write_results",
]

RESULTS_FILENAME = "optimization_results.yaml"
"""The results file's name, as Hydra's Optuna sweeper names it; written next to the Ax experiment JSON."""

RESULTS_FORMAT = 2
"""The results file's ``format``: 2 since the file ends in ``end: true`` (files without a ``format`` came before)."""

TrialStatus = Literal["completed", "failed", "abandoned"]


def scalar(value: Any) -> Any:
    """Numpy scalars as Python scalars; integral floats stay floats (an int parameter is always an int)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str | bytes) else value


def config_key(params: Mapping[str, Any]) -> str:
    """A canonical text for one configuration, to find repeats.

    >>> import numpy as np
    >>> config_key({"lr": np.float64(0.1), "batch": 8}) == config_key({"batch": 8, "lr": 0.1})
    True
    """
    return json.dumps({k: scalar(v) for k, v in params.items()}, sort_keys=True, default=str)


def has_energy_figures(metrics: Mapping[str, Any]) -> bool:
    """Whether a trial's metrics hold energy figures (``energy/...``), whose kind its ``energy_source`` must name."""
    return any(str(name).startswith("energy/") for name in metrics)


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a sweep.

    Args:
        trial_index: Ax's trial index (0, 1, ...).
        params: The swept parameters' values, with their original Python types.
        status: ``"completed"``, ``"failed"`` or ``"abandoned"`` (interrupted before it finished; not counted).
        metrics: Every metric the trial returned, ``{name: mean}``; for a failed trial, what it measured before failing
            (e.g. its energy), never given to the optimiser; empty when abandoned.
        sems: Standard errors of the metrics that came with one, ``{name: sem}``.
        reason: Why the trial failed or was abandoned; ``None`` when completed.
        energy_source: The trial's ``"energy/source"`` label (e.g. ``"measured: zeus/nvml"``), if it returned one.
        reused_from: The index of the earlier trial whose result this one reuses (same configuration, not run
            again), or ``None`` when this trial was evaluated.
        shared_counters: The trial's energy was measured by hardware counters while other trials ran beside it on
            the same machine (a parallel local launcher): RAPL is package-wide and a shared GPU counts both, so its
            joules include some of its neighbours' work.
    """

    trial_index: int
    params: dict[str, Any]
    status: TrialStatus
    metrics: dict[str, float] = field(default_factory=dict)
    sems: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    energy_source: str | None = None
    reused_from: int | None = None
    shared_counters: bool = False

    @property
    def finished(self) -> bool:
        """Whether the trial counts toward the budget (completed or failed)."""
        return self.status in ("completed", "failed")

    def values(self, objectives: Sequence[Objective]) -> list[float] | None:
        """The objective values in objective order (Optuna's ``values``), or ``None`` unless completed."""
        if self.status != "completed":
            return None
        return [self.metrics[objective.name] for objective in objectives]


def loaded_checkpoint(metrics: Mapping[str, Any]) -> bool:
    """Whether a trial loaded a cached checkpoint instead of training, by what it reported.

    ``checkpoint/reused = 1`` or the training energy it avoided (``energy/train_reused_j > 0``), as
    :meth:`lightning_ecopt.checkpoints.CachedTraining.metrics` reports them.
    """
    values = (metrics.get("checkpoint/reused"), metrics.get("energy/train_reused_j"))
    return any(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in values)


def meets(trial: TrialRecord, constraints: Sequence[OutcomeConstraint]) -> bool:
    """Whether the trial meets every outcome constraint (a missing or non-finite value does not)."""
    return all(c.met_by(trial.metrics) for c in constraints)


def front_candidates(trials: Iterable[TrialRecord], constraints: Sequence[OutcomeConstraint] = ()) -> list[TrialRecord]:
    """The trials a sweep's frontier is drawn from, in their order.

    Completed, evaluated (not reused from another trial), meeting every outcome constraint (those on objectives too;
    a missing or non-finite value does not). The sweep's Pareto set and reference point and the report's frontier
    and ``dominated_by`` column all use it.
    """
    return [t for t in trials if t.status == "completed" and t.reused_from is None and meets(t, constraints)]


@dataclass(frozen=True, repr=False)
class SweepResult:
    """The outcome of :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run`.

    Compared field by field; its ``repr`` is one short line of counts (print :attr:`trials` for the details).

    Args:
        objectives: The sweep's objectives, in order.
        trials: Every trial, by index (abandoned ones included).
        pareto_indices: Indices of the Pareto-optimal trials: completed, evaluated (not reused), meeting the
            outcome constraints, and not dominated by another such trial on the observed objective values.
        reference_point: ``{objective: worst acceptable value}`` used as Ax's objective thresholds and for the
            hypervolume, or ``None`` while none is known.
        reference_point_origin: ``"given"`` (from the settings or a constraint on an objective) or ``"inferred"``
            (from the observed front after the Sobol trials).
        hypervolume: The hypervolume of the Pareto set with respect to ``reference_point`` (``None`` without one).
        stop_reason: Why the sweep ended before its budget (e.g. the search space was exhausted), else ``None``.
        suggest_time_s: Seconds Ax spent proposing trials, in total.
        storage: The Ax experiment JSON, when the sweep saved one.
        results_path: The ``optimization_results.yaml`` written next to it, if any.
        reference_point_given: The objectives whose reference value was given (all of them when the origin is
            ``"given"``; some, or none, when it is ``"inferred"``: the others were inferred).
        reference_point_provisional: The inferred point is provisional: inferred from trials none of which met the
            outcome constraints, it is inferred again once enough trials meet them, and ``hypervolume`` is measured
            against a box the sweep replaces (it can shrink then: not a point of the hypervolume's curve).
        provenance: One record per run of the sweep that finished a trial, oldest first
            (:func:`lightning_ecopt.provenance.run_record`: versions, machine, launcher, seeds); ``()`` where none
            was recorded (a results file written before they were).
    """

    objectives: tuple[Objective, ...]
    trials: tuple[TrialRecord, ...]
    pareto_indices: tuple[int, ...]
    reference_point: dict[str, float] | None = None
    reference_point_origin: Literal["given", "inferred"] | None = None
    hypervolume: float | None = None
    stop_reason: str | None = None
    suggest_time_s: float = 0.0
    storage: Path | None = None
    results_path: Path | None = None
    reference_point_given: tuple[str, ...] = ()
    reference_point_provisional: bool = False
    provenance: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        # In objective order, as every other view lists objectives: a given point came in the order of
        # reference_point and then the constraints ("lat ms = 12, spj = 120, test/acc = 0.6" for test/acc, spj, lat).
        if self.reference_point is not None:
            point = self.reference_point
            ordered = {o.name: point[o.name] for o in self.objectives if o.name in point}
            object.__setattr__(self, "reference_point", {**ordered, **point})

    def __repr__(self) -> str:
        abandoned = sum(t.status == "abandoned" for t in self.trials)
        objectives = ", ".join(f"{o.name} ({o.direction})" for o in self.objectives)
        hv = "n/a" if self.hypervolume is None else f"{self.hypervolume:.6g}"
        where = f"; results {str(self.results_path)!r}" if self.results_path is not None else ""
        return (
            f"SweepResult({spelling.trials(len(self.trials))}: {self.n_completed} completed, {self.n_failed} failed, "
            f"{abandoned} abandoned, {self.n_reused} reused; objectives {objectives}; Pareto set "
            f"{len(self.pareto_indices)}; hypervolume {hv}{where})"
        )

    @property
    def n_completed(self) -> int:
        """Completed trials (reused ones included)."""
        return sum(t.status == "completed" for t in self.trials)

    @property
    def n_failed(self) -> int:
        """Failed trials (reused failures and refused energy sources included)."""
        return sum(t.status == "failed" for t in self.trials)

    @property
    def n_reused(self) -> int:
        """Trials answered from an earlier trial with the same configuration instead of being run again."""
        return sum(t.reused_from is not None for t in self.trials)

    @property
    def n_loaded_checkpoints(self) -> int:
        """Trials that ran but loaded a cached checkpoint instead of training.

        The task reported ``checkpoint/reused = 1`` or the training energy it avoided (``energy/train_reused_j >
        0``), as :meth:`lightning_ecopt.checkpoints.CachedTraining.metrics` does.
        Not :attr:`n_reused`, which counts trials not run at all.
        """
        return sum(t.reused_from is None and loaded_checkpoint(t.metrics) for t in self.trials)

    @property
    def n_finished(self) -> int:
        """Completed plus failed trials: what counts toward ``n_trials``."""
        return sum(t.finished for t in self.trials)

    @property
    def pareto_trials(self) -> list[TrialRecord]:
        """The Pareto-optimal trials, by index."""
        by_index = {t.trial_index: t for t in self.trials}
        return [by_index[i] for i in self.pareto_indices]

    @property
    def outside_reference(self) -> list[TrialRecord]:
        """Pareto-optimal trials that are not strictly better than the reference point in every objective.

        They add nothing to the hypervolume (and the acquisition function valued them at nothing): with an inferred
        reference point from a narrow early front, a sweep can find a good part of its front outside that box.
        Empty while there is no reference point.
        """
        ref = self.reference_point
        front = self.pareto_trials
        if not ref or not front:
            return []
        Y = [[t.metrics[o.name] for o in self.objectives] for t in front]
        maximize = [not o.minimize for o in self.objectives]
        inside = frontier.inside_reference(Y, [ref[o.name] for o in self.objectives], maximize)
        return [t for t, counted in zip(front, inside, strict=True) if not counted]

    def failures(self) -> list[TrialRecord]:
        """The failed trials, by index."""
        return [t for t in self.trials if t.status == "failed"]

    def completed_since(self) -> dict[int, int]:
        """Failed trials whose configuration a later trial completed, ``{failed trial: first such trial}``.

        A rerun with ``retry_failed`` evaluates a failed configuration again as a new trial; the failure stays in the
        record, and this says which failures no longer stand for their configuration.

        >>> result = SweepResult(objectives=(), pareto_indices=(2,), trials=(
        ...     TrialRecord(0, {"lr": 0.1}, "failed", reason="out of memory"),
        ...     TrialRecord(1, {"lr": 0.2}, "failed", reason="out of memory"),
        ...     TrialRecord(2, {"lr": 0.1}, "completed", {"acc": 0.9}),
        ... ))
        >>> result.completed_since()
        {0: 2}
        """
        completed: dict[str, list[int]] = {}
        for t in self.trials:
            if t.status == "completed":
                completed.setdefault(config_key(t.params), []).append(t.trial_index)
        since: dict[int, int] = {}
        for t in self.failures():
            later = [i for i in completed.get(config_key(t.params), []) if i > t.trial_index]
            if later:
                since[t.trial_index] = min(later)
        return since

    def summary(self) -> str:
        """One line: trials done, failures, reuses, Pareto set size and hypervolume."""
        return (
            f"{spelling.trials(self.n_finished)} ({self.n_completed} completed, {self.n_failed} failed, "
            f"{self.n_reused} reused{self.checkpoints_clause()}), {self.frontier_line()}"
        )

    def checkpoints_clause(self) -> str:
        """``", K loaded a cached checkpoint"`` when trials did, else ``""``: a part of :meth:`summary`."""
        loaded = self.n_loaded_checkpoints
        return f", {loaded} loaded a cached checkpoint" if loaded else ""

    def frontier_line(self) -> str:
        """``Pareto set N[ (k outside the reference box)], hypervolume H``: the end of :meth:`summary`.

        ``H`` is followed by ``(provisional reference point)`` while the point is provisional. With one objective,
        ``best NAME V`` (``n/a`` before a trial completed): it has no front or hypervolume.
        """
        if len(self.objectives) == 1:
            name = self.objectives[0].name
            best = [t.metrics[name] for t in self.pareto_trials if name in t.metrics]
            return f"best {name} {format_number(best[0], 6) if best else 'n/a'}"
        # As the report writes it (format_number): a large volume reads 1234567, not 1.23457e+06.
        hv = "n/a" if self.hypervolume is None else format_number(self.hypervolume, 6)
        outside = len(self.outside_reference)
        beyond = f" ({outside} outside the reference box)" if outside else ""
        provisional = " (provisional reference point)" if self.reference_point_provisional else ""
        return f"Pareto set {len(self.pareto_indices)}{beyond}, hypervolume {hv}{provisional}"


def _plain(value: Any) -> Any:
    """``value`` as plain YAML data: dataclasses, paths, enums, tuples, numpy scalars and non-finite floats."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, bool) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy / torch scalars (np.float64 and np.str_ subclass float and str)
    if type(value) not in (str, int, float) and callable(item):
        return _plain(item())
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    return str(value)


def _settings_dict(settings: SweepSettings) -> dict[str, Any]:
    out = _plain(settings)
    out["objectives"] = {o.name: o.direction for o in settings.objectives}
    # Full precision (str() rounds the bound to 6 digits): the report reads them back to tell feasible trials.
    out["outcome_constraints"] = [c.exact() for c in settings.outcome_constraints]
    if len(settings.objectives) == 1:
        out["acquisition"] = None  # Ax's single-objective default proposes (settings.proposer): qNEHVI never ran
    return dict(out)


def results_to_dict(result: SweepResult, settings: SweepSettings | None = None) -> dict[str, Any]:
    """Build the content of ``optimization_results.yaml``.

    Args:
        result: The sweep's result (possibly partial: the file is rewritten after every batch).
        settings: The sweep's settings, recorded under ``settings``.

    Returns:
        Plain data: ``name``, ``best_params`` and ``best_value`` (one objective only, as Optuna writes them),
        ``format`` (:data:`RESULTS_FORMAT`), ``objectives``, ``energy_source`` (the energy figures' label and
        kinds, and the completed trials without a label), ``solutions`` (Optuna's keys plus ``trial_index``,
        ``metrics`` and ``energy_source``), ``trials``, ``hypervolume``, ``reference_point``, ``counts``,
        ``stop_reason``, ``settings``, ``provenance`` (one record per run) and, last, ``end: true`` (a file without it
        was cut short).
    """
    objectives = result.objectives
    solutions = [
        {
            "params": _plain(t.params),
            "values": t.values(objectives),
            "trial_index": t.trial_index,
            "metrics": _plain(t.metrics),
            "energy_source": t.energy_source,
        }
        for t in result.pareto_trials
    ]
    trials = [
        {
            "trial_index": t.trial_index,
            "status": t.status,
            "params": _plain(t.params),
            "values": t.values(objectives),
            "metrics": _plain(t.metrics),
            "reason": t.reason,
            "energy_source": t.energy_source,
            "reused_from": t.reused_from,
            "shared_counters": t.shared_counters,
            # The standard errors the task returned with its metrics ({metric: (mean, sem)}); only where there are
            # some, so files of sweeps without them stay as they were (readers take a missing key for none).
            **({"sems": _plain(t.sems)} if t.sems else {}),
        }
        for t in result.trials
    ]
    data: dict[str, Any] = {"name": "ecopt"}
    if len(objectives) == 1:
        # The Optuna sweeper's single-objective keys: the best feasible trial (the first of any tie), null until one
        # completed.
        best = result.pareto_trials[0] if result.pareto_indices else None
        data["best_params"] = None if best is None else _plain(best.params)
        data["best_value"] = None if best is None else _plain(best.metrics[objectives[0].name])
    from lightning_ecopt import views

    data |= {
        # After Optuna's keys (their order is Optuna's): the file's layout; `end: true` closes it.
        "format": RESULTS_FORMAT,
        "objectives": {o.name: o.direction for o in objectives},
        # The label of every energy figure below, as `ecopt report --json` gives it ("mixed: ..." when the kinds
        # differ), and the completed trials that returned energy figures without one: of no known kind.
        "energy_source": {
            "label": views.energy_label(t.energy_source for t in result.trials),
            "kinds": views.energy_kinds(t.energy_source for t in result.trials),
            # what measured figures leave out (NVML without RAPL: the GPU alone), else None
            "coverage": views.energy_coverage(t.energy_source for t in result.trials),
            "unlabelled": [
                t.trial_index
                for t in result.trials
                if t.status == "completed" and not t.energy_source and has_energy_figures(t.metrics)
            ],
        },
        "solutions": solutions,
        "hypervolume": result.hypervolume,
        "reference_point": {
            "values": None if result.reference_point is None else _plain(result.reference_point),
            "origin": result.reference_point_origin,
            "given": list(result.reference_point_given),
            # Only while the point is provisional (inferred again later), so other files stay as they were (readers
            # take a missing key for a point in force; older readers skip it).
            **({"provisional": True} if result.reference_point_provisional else {}),
        },
        "counts": {
            "finished": result.n_finished,
            "completed": result.n_completed,
            "failed": result.n_failed,
            "reused": result.n_reused,
            "abandoned": sum(t.status == "abandoned" for t in result.trials),
        },
        "stop_reason": result.stop_reason,
        "trials": trials,
    }
    if settings is not None:
        data["settings"] = _settings_dict(settings)
    data["provenance"] = [_plain(run) for run in result.provenance]
    data["end"] = True  # last: a copy cut short anywhere before it lacks it (the report refuses such a file)
    return data


def create_temporary_file(path: Path) -> tuple[int, str]:
    """Create and open a new temporary file beside ``path``, to be renamed over it once written.

    As ``tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)`` does, but with the mode
    ``open(path, "w")`` gives a new file: 0666 less the umask (mkstemp's file is 0600, and the file renamed over
    ``path`` keeps that mode, so nobody else could read a sweep's results on a shared cluster).

    Args:
        path: The file the temporary one will replace; its directory must exist.

    Returns:
        An open file descriptor (write-only; close it, e.g. through ``os.fdopen``) and the temporary file's path,
        ``.<name>.<random>.tmp``.

    Raises:
        FileExistsError: No unused name was found (not expected in practice).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp  # the kernel applies the umask
        except FileExistsError:
            continue
    raise FileExistsError(f"create_temporary_file({str(path)!r}): no unused temporary name in {path.parent}.")


_KILL_PROBES = os.name != "nt"
"""Whether ``os.kill(pid, 0)`` probes a process (POSIX) rather than ending it (Windows)."""


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user's counts).

    The owner of a lock, or of a temporary file it left, may be gone: storage's lock and the board's partial files.
    On Windows, where ``os.kill(pid, 0)`` does not probe but ends the process (``TerminateProcess`` with exit code 0),
    every process counts as running: a partial file a killed writer left stays, rather than a reused pid's process
    ended.
    """
    if not _KILL_PROBES:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, run by another user
        return True
    return True


_SHARING_VIOLATIONS = os.name == "nt"
"""Whether ``os.replace`` fails on a file another process holds open (Windows), rather than replacing it (POSIX).

Python's ``open()`` on Windows does not share the right to delete or rename, so while any process holds the
destination (or the temporary file) open, the rename is refused with ``PermissionError`` (``WinError 5`` or 32): an
``ecopt report`` reading the results file, a virus scanner looking at a file just written, Excel holding
``trials.csv``."""

_REPLACE_WAIT_S = 5.0
"""How long :func:`replace_file` keeps trying a rename that another process's open handle refuses (Windows)."""


def replace_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """``os.replace(src, dst)``; on Windows, tried again for a while where another process holds either file open.

    A reader that holds the file for a moment (``ecopt report``, a virus scanner, a backup or indexing service) no
    longer fails the write (it stopped the sweep at its save, and the trials finished since its last save ran again
    on resume). A program that keeps the file open (Excel, some editors) still fails it after
    :data:`_REPLACE_WAIT_S`, with a message naming the platform and what to close.

    Args:
        src: The complete temporary file.
        dst: The file it replaces.

    Raises:
        PermissionError: On Windows, the file was still held open after :data:`_REPLACE_WAIT_S` (the message says
            so); elsewhere, as ``os.replace`` raises it.
        OSError: As ``os.replace`` raises it.
    """
    if not _SHARING_VIOLATIONS:
        os.replace(src, dst)
        return
    deadline, pause = time.monotonic() + _REPLACE_WAIT_S, 0.01
    while True:
        try:
            os.replace(src, dst)
            return
        except PermissionError as err:
            if time.monotonic() >= deadline:
                raise PermissionError(
                    err.errno,
                    f"{err.strerror or 'access denied'}: another program holds {Path(dst).name} (or the temporary "
                    f"file written to replace it) open, and on Windows a file held open cannot be replaced; close "
                    f"what has it open (Excel, an editor, a running `ecopt report`) and try again",
                    str(dst),
                ) from err
        time.sleep(pause)
        pause = min(2 * pause, 0.5)


def _without_surrogates(text: str) -> str:
    r"""``text`` with each lone surrogate written as its escape (``\udce9``): UTF-8 has no code for one.

    Python decodes a file name that is not UTF-8 into lone surrogates (``os.fsdecode``'s ``surrogateescape``), and a
    task's exception message that names such a file (``f"cannot read {path}"``) holds them: writing the results file
    raised ``UnicodeEncodeError``, which stopped the sweep, and every resume, at its first save.

    >>> _without_surrogates("caf\udce9.png"), _without_surrogates("café")
    ('caf\\udce9.png', 'café')
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same directory, fsync, then ``os.replace``.

    The file gets the mode ``open()`` gives a new file (0666 less the umask), also when it replaces an older one.

    Args:
        path: The destination; its directory is created if needed.
        text: The content; a lone surrogate in it is written as its escape (:func:`_without_surrogates`).
    """
    atomic_write_bytes(path, _without_surrogates(text).encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`atomic_write_text` for bytes.

    Each write has a temporary file of its own, so two processes writing one file (two ``ecopt report`` runs) never
    write into each other's: the last rename wins whole.

    Args:
        path: The destination; its directory is created if needed.
        data: The content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temporary_file(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(path: Path, result: SweepResult, settings: SweepSettings | None = None) -> None:
    """Write ``optimization_results.yaml`` atomically.

    Args:
        path: The file to write (normally ``<sweep dir>/optimization_results.yaml``).
        result: The sweep's result.
        settings: The sweep's settings, recorded in the file.
    """
    import yaml

    text = yaml.dump(results_to_dict(result, settings), Dumper=_results_dumper(), sort_keys=False, allow_unicode=True)
    atomic_write_text(path, text)


# Plain scalars that YAML 1.2 (ruamel.yaml, most other languages' parsers) or OmegaConf's loader read as numbers, and
# PyYAML's YAML 1.1 rules do not, so PyYAML writes them bare: '1e3' (no dot), '0o17', '1_000.5'.
_NUMBER_TEXT = re.compile(
    r"[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|0o[0-7]+|0x[0-9a-fA-F]+"
)


@functools.cache
def _results_dumper() -> Any:
    """PyYAML's safe dumper, with libyaml's emitter where PyYAML has it, quoting every string that reads as a number.

    libyaml's emitter: the same data, 6x faster (the file is rewritten after every batch, and took 0.35 ms a trial with
    the pure-Python one: 140 ms a batch at 400 trials); the text differs only where a string holds a character beyond
    U+FFFF (an emoji), which libyaml escapes. Quoted: a choice value '1e3' was written bare, as PyYAML's YAML 1.1 reads
    it back as text, and ``OmegaConf.load`` (the Optuna sweeper's readers) and YAML 1.2 parsers read the float 1000.0.
    A lone surrogate is written as its escape (:func:`_without_surrogates`).
    """
    import yaml

    class ResultsDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    def represent_str(dumper: Any, data: str) -> Any:
        data = _without_surrogates(data)
        if _NUMBER_TEXT.fullmatch(data):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return dumper.represent_str(data)

    ResultsDumper.add_representer(str, represent_str)
    return ResultsDumper
