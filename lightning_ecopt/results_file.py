"""Reading a sweep's ``optimization_results.yaml`` back: :func:`load_sweep`, for ``ecopt report`` and scripts.

The file is what :func:`lightning_ecopt.sweeper.results.write_results` writes after every batch (plain data, so a
sweep that is still running or was interrupted can be read; nothing is unpickled, and the Ax JSON is never needed).
It is checked, not trusted: a file cut short while copied, another sweeper's file of the same name, a newer format,
or a hand edit is refused with :class:`SweepDataError`, naming the field and the fix; and a frontier its trials do
not make is replaced by the one they make, with a note (:attr:`LoadedSweep.notes`).

This module sits beside the report, not in :mod:`lightning_ecopt.sweeper`: a sweep resumes from its Ax experiment and
never rebuilds a result from this file (it only looks at whose trials the file holds before writing over it:
:mod:`lightning_ecopt.sweeper.storage`), and the reader's corrections and messages are the report's
(``ecopt report: ...``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lightning_ecopt import frontier, views
from lightning_ecopt.exceptions import EcoptConfigError, EcoptError
from lightning_ecopt.sweeper.objectives import Objective, OutcomeConstraint, parse_constraint
from lightning_ecopt.sweeper.results import RESULTS_FILENAME, RESULTS_FORMAT, SweepResult, TrialRecord, meets
from lightning_ecopt.sweeper.storage import read_saved, saved_trials

__all__ = ["LoadedSweep", "SweepDataError", "find_results", "load_sweep"]


class SweepDataError(EcoptError, ValueError):
    """The sweep directory or its results file cannot be read; the message names the path and the fix."""


@dataclass(frozen=True)
class LoadedSweep:
    """A sweep read back from its ``optimization_results.yaml``, or taken from an in-memory result.

    Args:
        sweep_dir: The sweep directory; ``None`` for an in-memory result that has no results file.
        results_path: The results file; ``None`` likewise.
        result: The trials, frontier, reference point and hypervolume, as the loop wrote them.
        n_trials: The sweep's budget (from the recorded settings), or ``None`` when not recorded.
        constraints: The outcome constraints, as text; ``None`` when unknown (an in-memory result given without its
            settings).
        stop_reason: Why the sweep ended early, if it did.
        notes: What the report corrected in the file, one sentence each (a frontier its trials do not make).
        settings: The sweep's settings as the file records them (plain data), or ``None`` where unknown (not
            recorded, or an in-memory result given without its settings).
    """

    sweep_dir: Path | None
    results_path: Path | None
    result: SweepResult
    n_trials: int | None = None
    constraints: tuple[str, ...] | None = ()
    stop_reason: str | None = None
    notes: tuple[str, ...] = ()
    settings: dict[str, Any] | None = None


_SWEEP_LEVELS_UP = 3
"""How far up ``ecopt report`` looks for the sweep of a folder inside one: ``<sweep>/0/lightning_logs/version_0``."""


def find_results(path: str | Path) -> Path:
    """Find the results file of a sweep: ``<path>/optimization_results.yaml``, or ``path`` itself if it is one.

    Args:
        path: A sweep directory (``hydra.sweep.dir``) or its results file.

    Returns:
        The results file.

    Raises:
        SweepDataError: ``path`` does not exist, cannot be looked into, or holds no results (the message says
            whether the sweep has not finished a batch yet, and lists sweeps found in sub-folders).
    """
    p = Path(path)
    try:
        return _find_results(p)
    except PermissionError as exc:  # a folder without read or search permission: Python's "[Errno 13] ..." alone
        raise SweepDataError(
            f"ecopt report: cannot look for {RESULTS_FILENAME} in {str(p)!r} ({exc.strerror}: "
            f"{str(exc.filename)!r}); ask for read access to the sweep directory, or report on a copy of it."
        ) from None


def _find_results(p: Path) -> Path:
    """:func:`find_results` of a path: what it raises, but for a folder it may not look into."""
    if not p.exists():
        raise SweepDataError(f"ecopt report: {str(p)!r} does not exist; pass the sweep directory (hydra.sweep.dir).")
    if p.is_file():
        sibling = p.parent / RESULTS_FILENAME
        if p.name != RESULTS_FILENAME and (p.suffix not in (".yaml", ".yml") or sibling.is_file()):
            # Hydra's multirun.yaml beside the results was read as one, and refused as the Optuna sweeper's file
            where = repr(str(p.parent)) if sibling.is_file() else f"that holds {RESULTS_FILENAME}"
            raise SweepDataError(
                f"ecopt report: {str(p)!r} is a file but not a results file; pass the sweep directory {where}."
            )
        return p
    results = p / RESULTS_FILENAME
    if results.is_file():
        return results
    if (p / "ax_experiment.json").is_file():
        if _any_trial_ended(p / "ax_experiment.json"):
            raise SweepDataError(
                f"ecopt report: {str(p)!r} holds a sweep whose trials have finished, but its {RESULTS_FILENAME} is "
                f"missing (deleted or moved?); rerun the sweep command: it resumes the sweep and rewrites the file."
            )
        raise SweepDataError(
            f"ecopt report: {str(p)!r} holds a sweep that has not finished its first batch yet ({RESULTS_FILENAME} "
            f"is written after every batch); run the report again once a trial has finished."
        )
    nested = sorted({r.parent for r in [*p.glob(f"*/{RESULTS_FILENAME}"), *p.glob(f"*/*/{RESULTS_FILENAME}")]})
    if nested:
        listed = ", ".join(repr(str(n)) for n in nested[:5])
        more = f" and {len(nested) - 5} more" if len(nested) > 5 else ""
        raise SweepDataError(
            f"ecopt report: no {RESULTS_FILENAME} in {str(p)!r}; sweeps found below it: {listed}{more}."
        )
    # A trial's job dir (<sweep dir>/0) or a folder in it, down to its TensorBoard logs (0/lightning_logs/version_0):
    # the sweep is up to _SWEEP_LEVELS_UP levels up.
    for levels, ancestor in enumerate(p.resolve().parents[:_SWEEP_LEVELS_UP], start=1):
        if not (ancestor / RESULTS_FILENAME).is_file():
            continue
        # As the user wrote it where that names the same folder; else in full ('.' and '..' name the cwd's parents,
        # a symbolic link on the way another folder's)
        given = p.parents[levels - 1] if levels <= len(p.parents) and ".." not in p.parts else None
        if given is not None and (given == Path(".") or given.resolve() != ancestor):  # '.', or through a link
            given = None
        shown = str(ancestor) if given is None else str(given)
        where = f"its parent {shown!r}" if levels == 1 else f"{shown!r}, {levels} levels up,"
        raise SweepDataError(
            f"ecopt report: no ecopt sweep in {str(p)!r} (no {RESULTS_FILENAME}), but {where} holds one "
            f"({_inside(p.resolve().relative_to(ancestor).parts[0])}): pass {shown!r}."
        )
    raise SweepDataError(
        f"ecopt report: no ecopt sweep in {str(p)!r} (no {RESULTS_FILENAME}); pass the directory of a sweep run with "
        f"hydra/sweeper=ecopt (its hydra.sweep.dir, e.g. multirun/2026-01-01/12-00-00)."
    )


def _inside(folder: str) -> str:
    """Why a sweep dir's ``folder`` (the first below it on the way to the path given) is not the sweep dir itself."""
    from lightning_ecopt.tensorboard import TENSORBOARD_DIRNAME

    if folder == TENSORBOARD_DIRNAME:
        return (
            f"{folder!r} holds the sweep's TensorBoard views, for tensorboard --logdir; the report reads the sweep dir"
        )
    if folder.isdigit():  # hydra.sweep.subdir's default: the job number
        return "a trial's job dir is inside its sweep's"
    return f"{folder!r} is a folder inside the sweep dir"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise SweepDataError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer of hundreds of digits (a hand edit): no float holds it
            raise SweepDataError(
                f"{where}: an integer of {len(str(abs(value)))} digits, beyond the range of a float (about 1.8e308); "
                f"{_REWRITE}"
            ) from None
    if isinstance(value, float):
        return value
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "+inf"):
        return float(value)
    raise SweepDataError(f"{where}: expected a number, got {value!r}")


def _any_trial_ended(storage: Path) -> bool:
    """Whether a trial of a saved Ax experiment (plain JSON) has ended; ``False`` where the file cannot be read.

    By Ax's statuses, COMPLETED, FAILED or ABANDONED: unlike :attr:`TrialRecord.finished` (completed or failed, by
    the sweep's own record) it counts a trial an interruption cut short, which a resume leaves FAILED in Ax.
    """
    try:
        statuses = [t["status"]["name"] for t in saved_trials(read_saved(storage))]
    except (KeyError, TypeError):
        return False
    return any(status in ("COMPLETED", "FAILED", "ABANDONED") for status in statuses)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SweepDataError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


_REWRITE = "the sweep rewrites it after every batch: rerun the sweep command to resume it and rewrite the file"


def _parse(data: Any, path: Path) -> LoadedSweep:
    """Rebuild a :class:`SweepResult` from the file's plain data; raises ``SweepDataError`` naming what is wrong.

    The parts are checked in the file's order (header, objectives, trials, counts, solutions, reference point,
    settings), so a file with several faults is refused for the first; the frontier is then checked against the
    trials (:func:`_with_trials_front`).
    """
    _check_header(data)
    objectives = _objectives(data)
    trials, position = _trials(data, objectives)
    _check_counts(data, trials)
    trials.sort(key=lambda t: t.trial_index)
    _check_reuses(trials, position)
    pareto = _solutions(data, trials)
    point, given, origin, provisional = _reference_point(data, objectives)
    hv = data.get("hypervolume")
    n_trials, constraints = _settings(data)
    runs = _provenance(data)
    result = SweepResult(
        objectives=tuple(objectives),
        trials=tuple(trials),
        pareto_indices=tuple(sorted(pareto)),
        reference_point=point,
        reference_point_origin=origin if origin in ("given", "inferred") else None,
        reference_point_given=tuple(str(name) for name in given),
        reference_point_provisional=point is not None and provisional,
        hypervolume=None if hv is None else _number(hv, "hypervolume"),
        stop_reason=data.get("stop_reason"),
        results_path=path,
        provenance=runs,
    )
    loaded = LoadedSweep(
        sweep_dir=path.parent,
        results_path=path,
        result=result,
        n_trials=n_trials,
        constraints=constraints,
        stop_reason=data.get("stop_reason"),
        settings=dict(data["settings"]) if isinstance(data.get("settings"), Mapping) else None,
    )
    return _with_trials_front(loaded)


def _check_header(data: Any) -> None:
    """Refuse what is not a whole ecopt results file: empty, cut short, another sweeper's, or a newer format."""
    if data is None:
        raise SweepDataError(f"the file is empty (cut short while copied?); {_REWRITE}")
    if not isinstance(data, Mapping):
        raise SweepDataError(
            f"the file holds a {type(data).__name__}, not a mapping: not a whole results file (cut short while "
            f"copied?); {_REWRITE}"
        )
    name = data.get("name")
    if set(data) == {"name"} and (name is None or (isinstance(name, str) and "ecopt".startswith(name))):
        raise SweepDataError(f"the file is cut short in its first line (name: {name!r}); {_REWRITE}")
    if data.get("name") == "ecopt" and "trials" not in data:
        raise SweepDataError(f"no 'trials' list: the file is incomplete (cut short while copied?); {_REWRITE}")
    if data.get("name") != "ecopt" or "trials" not in data:
        # Only what is wrong: a file with a trials list (a hand edit, another tool's) has one, and is no Optuna file.
        what = (
            " and no 'trials' list: this is not an ecopt sweeper's results file (Hydra's Optuna sweeper writes the "
            "same file name without the trials)"
            if "trials" not in data
            else ", not 'ecopt': this is not an ecopt sweeper's results file"
        )
        raise SweepDataError(f"name: {data.get('name')!r}{what}; rerun the sweep with hydra/sweeper=ecopt")
    file_format = data.get("format")
    if file_format is not None:  # written since the marker exists: it ends in `end: true`, or was cut short
        if file_format != RESULTS_FORMAT or isinstance(file_format, bool):
            raise SweepDataError(
                f"format: {file_format!r}: this lightning_ecopt reads results files of format {RESULTS_FORMAT} (and "
                f"older ones without a format); upgrade lightning_ecopt to report this sweep"
            )
        if data.get("end") is not True:
            raise SweepDataError(
                f"the file is cut short: it lacks the 'end: true' line the sweep writes last (copied or synced before "
                f"it was whole?); {_REWRITE}"
            )


def _objectives(data: Mapping[str, Any]) -> list[Objective]:
    """The file's objectives, in its order, with their directions."""
    objectives_data = _mapping(data.get("objectives"), "objectives")
    objectives = []
    for name, direction in objectives_data.items():
        if direction not in ("maximize", "minimize"):
            raise SweepDataError(f"objectives.{name}: direction {direction!r} is neither 'maximize' nor 'minimize'")
        objectives.append(Objective(str(name), minimize=direction == "minimize"))
    if not objectives:
        raise SweepDataError("objectives: empty; the file names no objective")
    return objectives


def _trials(data: Mapping[str, Any], objectives: Sequence[Objective]) -> tuple[list[TrialRecord], dict[int, int]]:
    """The file's trials, in its order, and each trial index's position in its list (each index listed once)."""
    raw_trials = data.get("trials") or []
    if not isinstance(raw_trials, Sequence) or isinstance(raw_trials, str):
        raise SweepDataError(f"trials: expected a list, got {type(raw_trials).__name__}")
    trials = []
    position: dict[int, int] = {}
    for k, raw in enumerate(raw_trials):
        where = f"trials[{k}]"
        raw = _mapping(raw, where)
        index = raw.get("trial_index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise SweepDataError(f"{where}.trial_index: expected an integer, got {index!r}")
        if index in position:
            raise SweepDataError(
                f"{where}.trial_index: {index} is also trials[{position[index]}]'s; each trial is listed once "
                f"(an edited or merged file?); {_REWRITE}"
            )
        position[index] = k
        trials.append(_trial(raw, where, index, objectives))
    return trials, position


def _trial(raw: Mapping[str, Any], where: str, index: int, objectives: Sequence[Objective]) -> TrialRecord:
    """One trial of the file (``where``: ``trials[k]``), its index already checked."""
    status = raw.get("status")
    if status not in ("completed", "failed", "abandoned"):
        raise SweepDataError(f"{where}.status: {status!r} is not one of completed, failed, abandoned")
    metrics = {
        str(m): _number(v, f"{where}.metrics.{m}") for m, v in _mapping(raw.get("metrics"), f"{where}.metrics").items()
    }
    if status == "completed":
        missing = [o.name for o in objectives if o.name not in metrics]
        if missing:
            raise SweepDataError(f"{where}: completed trial {index} has no value for the objectives {missing}")
        for o in objectives:  # the sweep fails a trial whose objective is not finite: this one was edited
            if not math.isfinite(metrics[o.name]):
                raise SweepDataError(
                    f"{where}.metrics.{o.name}: completed trial {index}'s objective value is {metrics[o.name]}, "
                    f"not finite; {_REWRITE}"
                )
    # Standard errors, written since 2026-12-05 (format 2 still: older files lack them, older readers skip them).
    sems = {str(m): _number(v, f"{where}.sems.{m}") for m, v in _mapping(raw.get("sems"), f"{where}.sems").items()}
    for m, sem in sems.items():  # the sweep refuses such a sem from the task: this one was edited
        if not (math.isfinite(sem) and sem >= 0):
            raise SweepDataError(
                f"{where}.sems.{m}: trial {index}'s standard error is {sem}; a sem is a finite number >= 0; {_REWRITE}"
            )
    reused = raw.get("reused_from")
    source = raw.get("energy_source")
    if reused is not None and (not isinstance(reused, int) or isinstance(reused, bool)):
        raise SweepDataError(f"{where}.reused_from: expected a trial index or null, got {reused!r}; {_REWRITE}")
    if source is not None and not isinstance(source, str):
        raise SweepDataError(f"{where}.energy_source: expected a label (text) or null, got {source!r}; {_REWRITE}")
    return TrialRecord(
        trial_index=index,
        # Keys as text, as the sweep writes them (a hand-edited `1: 2` sorted beside names crashed the report).
        params={str(k): v for k, v in _mapping(raw.get("params"), f"{where}.params").items()},
        status=status,
        metrics=metrics,
        sems=sems,
        reason=None if raw.get("reason") is None else str(raw.get("reason")),
        energy_source=None if source is None else str(source),
        reused_from=reused,
        shared_counters=raw.get("shared_counters") is True,
    )


def _check_counts(data: Mapping[str, Any], trials: Sequence[TrialRecord]) -> None:
    """Refuse a file whose ``counts`` disagree with its trials list (a copy cut short in the list)."""
    counts = _mapping(data.get("counts"), "counts")
    listed = {status: sum(t.status == status for t in trials) for status in ("completed", "failed", "abandoned")}
    for status, n in listed.items():
        if status in counts and (not isinstance(counts[status], int) or isinstance(counts[status], bool)):
            raise SweepDataError(f"counts.{status}: expected an integer, got {counts[status]!r}; {_REWRITE}")
        if isinstance(counts.get(status), int) and counts[status] != n:
            raise SweepDataError(
                f"counts.{status} is {counts[status]} but the trials list holds {n} {status} trials: the file is "
                f"incomplete (cut short while copied?); {_REWRITE}"
            )


def _check_reuses(trials: Sequence[TrialRecord], position: Mapping[int, int]) -> None:
    """Refuse a trial that reuses one the file does not list (``position``: each index's place in the list)."""
    listed = {t.trial_index for t in trials}
    for t in trials:
        if t.reused_from is not None and t.reused_from not in listed:
            raise SweepDataError(
                f"trials[{position[t.trial_index]}].reused_from: trial {t.trial_index} reuses trial {t.reused_from}, "
                f"which is not one of the trials; {_REWRITE}"
            )


def _solutions(data: Mapping[str, Any], trials: Sequence[TrialRecord]) -> list[int]:
    """The trial indices of the file's frontier (``solutions``), each a completed trial of the list."""
    status_of = {t.trial_index: t.status for t in trials}
    pareto = []
    solutions = data.get("solutions") or []
    if not isinstance(solutions, Sequence) or isinstance(solutions, str):
        raise SweepDataError(f"solutions: expected a list, got {type(solutions).__name__}")
    for k, solution in enumerate(solutions):
        index = _mapping(solution, f"solutions[{k}]").get("trial_index")
        if index not in status_of:
            raise SweepDataError(f"solutions[{k}].trial_index: {index!r} is not one of the trials")
        if status_of[index] != "completed":
            raise SweepDataError(
                f"solutions[{k}].trial_index: trial {index} is {status_of[index]}; only completed trials are on a front"
            )
        pareto.append(int(index))
    return pareto


def _reference_point(
    data: Mapping[str, Any], objectives: Sequence[Objective]
) -> tuple[dict[str, float] | None, Sequence[Any], Any, bool]:
    """The reference point's values (``None`` when not recorded), the objectives given, its origin, and provisional.

    ``provisional: true`` is written since 2026-12-05, and only while the point is provisional (format 2 still).
    """
    reference = _mapping(data.get("reference_point"), "reference_point")
    values = reference.get("values")
    point = None
    if values is not None:
        point = {
            str(k): _number(v, f"reference_point.values.{k}")
            for k, v in _mapping(values, "reference_point.values").items()
        }
        short = [o.name for o in objectives if o.name not in point]
        if short:
            raise SweepDataError(f"reference_point.values: no value for the objectives {short}; {_REWRITE}")
        for name, value in point.items():
            if not math.isfinite(value):
                raise SweepDataError(f"reference_point.values.{name}: {value} is not finite; {_REWRITE}")
    given = reference.get("given") or []
    if not isinstance(given, Sequence) or isinstance(given, str):
        raise SweepDataError(f"reference_point.given: expected a list of objective names, got {given!r}")
    provisional = reference.get("provisional") or False
    if not isinstance(provisional, bool):
        raise SweepDataError(f"reference_point.provisional: expected true or false, got {provisional!r}; {_REWRITE}")
    return point, given, reference.get("origin"), provisional


def _settings(data: Mapping[str, Any]) -> tuple[int | None, tuple[str, ...]]:
    """The sweep's budget (``None`` when not recorded) and its outcome constraints as text, from ``settings``."""
    settings = _mapping(data.get("settings"), "settings")
    n_trials = settings.get("n_trials")
    constraints = settings.get("outcome_constraints") or []
    if not isinstance(constraints, Sequence) or isinstance(constraints, str):
        raise SweepDataError(
            f"settings.outcome_constraints: expected a list of '<metric> <= <number>' strings, got {constraints!r}; "
            f"{_REWRITE}"
        )
    budget = n_trials if isinstance(n_trials, int) and not isinstance(n_trials, bool) else None
    return budget, tuple(str(c) for c in constraints)


def _provenance(data: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The records of the sweep's runs (``provenance``); ``()`` in a file written before they were kept."""
    runs = data.get("provenance")
    if runs is None:
        return ()
    if not isinstance(runs, list) or not all(isinstance(run, Mapping) for run in runs):
        raise SweepDataError(f"provenance: expected a list of mappings (one a run), got {runs!r:.80}; {_REWRITE}")
    return tuple(dict(run) for run in runs)


def _with_trials_front(loaded: LoadedSweep) -> LoadedSweep:
    """``loaded`` with the frontier its trials make (:func:`_trials_front`) where the file's is another, and a note."""
    result = loaded.result
    front = _trials_front(result, _outcome_constraints(loaded) or ())
    if front != result.pareto_indices:
        hypervolume = _front_hypervolume(result, front) if result.hypervolume is not None else None
        note = (
            f"The file's frontier ({_listed(result.pareto_indices)}) is not the one its trials make among those that "
            f"meet the outcome constraints ({_listed(front)}): reported with the latter (a file written before "
            f"2026-12-04 kept trials that break a constraint on an objective on its frontier; or it was edited)."
        )
        loaded = replace(
            loaded, result=replace(result, pareto_indices=front, hypervolume=hypervolume), notes=(*loaded.notes, note)
        )
    return loaded


def _listed(indices: Sequence[int]) -> str:
    """Trials as the report names them: ``#0, #2``, or ``none``."""
    return ", ".join(f"#{i}" for i in indices) or "none"


def _front_hypervolume(result: SweepResult, front: Sequence[int]) -> float | None:
    """The hypervolume of the trials ``front`` against the result's reference point (None without a full one)."""
    ref = result.reference_point
    names = [o.name for o in result.objectives]
    if ref is None or set(ref) != set(names):
        return None
    by_index = {t.trial_index: t for t in result.trials}
    Y = [[by_index[i].metrics[n] for n in names] for i in front]
    return frontier.hypervolume(Y, [ref[n] for n in names], [not o.minimize for o in result.objectives])


def _trials_front(result: SweepResult, constraints: Sequence[OutcomeConstraint]) -> tuple[int, ...]:
    """The frontier the trials make: the Pareto set of the completed, evaluated trials that meet every constraint.

    The file's own list (``solutions``) is checked, not trusted: a hand edit, or a file written before 2026-12-04
    (which kept a trial that breaks a bound on an objective on its frontier), would offer a model nobody could pick.
    Checking it (:func:`frontier.is_pareto_set`) costs ``O(n * front)``; only a list that fails is recomputed with
    :func:`frontier.pareto_mask`.
    """
    runs = [t for t in views._completed_with_values(result) if meets(t, constraints)]
    if not runs:
        return ()
    names = [o.name for o in result.objectives]
    maximize = [not o.minimize for o in result.objectives]
    Y = [[t.metrics[n] for n in names] for t in runs]
    row = {t.trial_index: k for k, t in enumerate(runs)}
    stored = result.pareto_indices
    if stored and all(i in row for i in stored):
        on = [False] * len(runs)
        for i in stored:
            on[row[i]] = True
        if frontier.is_pareto_set(Y, maximize, on):
            return stored
    mask = frontier.pareto_mask(Y, maximize)
    return tuple(sorted(t.trial_index for t, keep in zip(runs, mask, strict=True) if keep))


def load_sweep(path: str | Path) -> LoadedSweep:
    """Read a sweep's ``optimization_results.yaml`` (safe YAML: plain data only).

    Args:
        path: The sweep directory, or its results file.

    Returns:
        The sweep, with its result rebuilt as a :class:`~lightning_ecopt.sweeper.results.SweepResult`.

    Raises:
        SweepDataError: Missing directory or file, unreadable or corrupt YAML, or a file that is not an ecopt
            sweeper's results; the message names the file and what is wrong.
    """
    import yaml

    results = find_results(path)
    try:
        text = results.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepDataError(f"ecopt report: cannot read {str(results)!r}: {exc}") from None
    try:
        # libyaml's parser where PyYAML has it (the writer uses its emitter): the same safe data, 3x faster (1.6 s
        # to 0.5 s for 1,000 trials).
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line (a ReaderError has two)
        raise SweepDataError(f"ecopt report: {str(results)!r} is not valid YAML{at} ({problem}); {_REWRITE}.") from None
    try:
        return _parse(data, results)
    except SweepDataError as exc:
        raise SweepDataError(f"ecopt report: {str(results)!r}: {exc}.") from None


def _outcome_constraints(sweep: LoadedSweep) -> list[OutcomeConstraint] | None:
    """The sweep's outcome constraints, those on objectives too (a trial that breaks one is infeasible).

    ``None`` when they are unknown (an in-memory result given without its settings).
    """
    if sweep.constraints is None:
        return None
    out = []
    for text in sweep.constraints:
        try:
            out.append(parse_constraint(text))
        except EcoptConfigError:
            raise SweepDataError(f"settings.outcome_constraints: {text!r} is not '<metric> <= | >= <number>'") from None
    return out
