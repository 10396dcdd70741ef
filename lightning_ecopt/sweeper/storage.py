"""A sweep's storage: what resuming it must match, reading its saved experiment as plain JSON, and its folder's lock.

The optimisation loop (:mod:`lightning_ecopt.sweeper.loop`) saves the Ax experiment to ``storage`` and resumes from
it; this module holds what the Hydra plugin, the loop and ``ecopt report`` need of that file without Ax:

- :func:`sweep_fingerprint` (the search space, objectives, acquisition function and :func:`flat_task_config` of the
  task) is saved in the experiment's description; a resume under another one is refused with a message naming what
  differs (``_mismatch_message``), and so is an ``n_trials`` below the trials already finished.
- :func:`read_saved` reads the saved experiment as plain JSON (no Ax, nothing unpickled); :func:`saved_trial_count`,
  :func:`saved_finished_count` and :func:`saved_sobol_count` count on it.
- :func:`check_storage` checks all of it before any trial runs (the plugin calls it before its start-up line).
- :func:`sweep_lock` holds the folder's :data:`SWEEP_LOCK_NAME` while a sweep runs, and :func:`check_sweep_locks`
  (before each save and launch) stops a sweep whose folder was deleted or moved; a new sweep is refused where the
  folder's results file holds another sweep's trials; temporary files a killed save left are removed on start.

Nothing here imports Ax, BoTorch or torch (Hydra imports the plugin, which imports this lazily, at every app start).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_ecopt._json import json_safe
from lightning_ecopt._shell import shell_path
from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper import spelling
from lightning_ecopt.sweeper.results import RESULTS_FILENAME, process_exists

if TYPE_CHECKING:
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import SearchSpace

__all__ = [
    "SWEEP_LOCK_NAME",
    "check_storage",
    "check_sweep_locks",
    "flat_task_config",
    "read_saved",
    "saved_finished_count",
    "saved_provenance",
    "saved_sobol_count",
    "saved_trial_count",
    "saved_trials",
    "sweep_fingerprint",
    "sweep_lock",
]

log = logging.getLogger(__name__)

_METADATA_KEY = "lightning_ecopt"
"""Key of our data in an Ax trial's ``run_metadata`` and in the experiment's description."""

_TASK_CONFIG_KEYS = 1000
"""Keys of the task's config saved with a sweep, by name; the keys past them are saved as one digest."""

_TASK_CONFIG_VALUE_CHARS = 200
"""A value of the task's config longer than this (as JSON) is saved as its length and digest."""

_CHANGES_NAMED = 5
"""Changed keys of the task's config a refused resume names; the rest are counted."""

_IN_MEMORY = "this sweep's earlier run() (kept in memory: no storage)"
"""What messages name in place of a storage file when a sweep without storage resumes from memory."""


def sweep_fingerprint(
    space: SearchSpace, settings: SweepSettings, task_config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a saved experiment must match to be resumed: the search space, the objectives, the acquisition, the task.

    A resumed sweep keeps the generation strategy it saved, so an acquisition function other than the one it started
    with would be recorded but not used: it is refused. (The number of Sobol trials and the seed are kept too: see
    :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run`.)

    Args:
        space: The swept parameters.
        settings: The sweep's settings (the objectives and, with two or more objectives, the acquisition function).
        task_config: The task's config for one fixed point of the space (the Hydra plugin gives the app's config
            composed for its first check, without the ``hydra`` node, interpolations as written); ``None``: not
            checked. Saved as :func:`flat_task_config`.

    Returns:
        ``{"space": ..., "objectives": [{"name", "direction"}, ...], "strategy": {"acquisition": ...},
        "task_config": {dotted key: value} or None}``.
    """
    fingerprint = {
        "space": space.fingerprint(),
        "objectives": [{"name": o.name, "direction": o.direction} for o in settings.objectives],
        "strategy": {"acquisition": settings.acquisition if len(settings.objectives) > 1 else None},
        "task_config": None if task_config is None else flat_task_config(task_config),
    }
    return dict(json.loads(json.dumps(fingerprint, default=str)))


def flat_task_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A task's config as ``{dotted key: value}``, JSON-safe and of bounded size, to compare it key by key.

    Mappings are walked (``model.hidden``); a list of plain values is one value, a list holding mappings or lists is
    walked by index (``callbacks.0.name``); an empty mapping or list is a value. Values that are not JSON (enums,
    paths) are kept as text, as are ``nan`` and ``inf``; a value longer than ``_TASK_CONFIG_VALUE_CHARS`` as JSON is
    kept as its length and digest. The first ``_TASK_CONFIG_KEYS`` keys (sorted) are kept by name, the rest as one
    digest under ``"..."``.

    Args:
        config: The config as plain containers (``OmegaConf.to_container(cfg, resolve=False)``).

    Returns:
        The flattened mapping, sorted by key.

    Example:
        >>> flat_task_config({"model": {"hidden": 16, "lr": "${optim.lr}"}, "tags": ["a", "b"], "layers": [{"w": 8}]})
        {'layers.0.w': 8, 'model.hidden': 16, 'model.lr': '${optim.lr}', 'tags': ['a', 'b']}
    """
    flat: dict[str, Any] = {}
    if config:
        _flatten(config, "", flat)
    keys = sorted(flat)
    kept = {key: flat[key] for key in keys[:_TASK_CONFIG_KEYS]}
    rest = {key: flat[key] for key in keys[_TASK_CONFIG_KEYS:]}
    if rest:
        kept["..."] = _digest(rest, f"{len(rest)} more keys")
    return kept


def _flatten(node: Any, prefix: str, flat: dict[str, Any]) -> None:
    """Add the leaves of ``node`` to ``flat`` under ``prefix`` (see :func:`flat_task_config`)."""
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), flat)
        return
    if isinstance(node, list | tuple) and any(isinstance(item, Mapping | list | tuple) for item in node):
        for index, value in enumerate(node):
            _flatten(value, f"{prefix}.{index}" if prefix else str(index), flat)
        return
    value = json_safe(node, nonfinite_as_text=True)  # nan must compare equal to itself
    text = json.dumps(value, sort_keys=True)
    flat[prefix] = value if len(text) <= _TASK_CONFIG_VALUE_CHARS else _digest(value, f"{len(text)} chars")


def _digest(value: Any, what: str) -> str:
    """``<what, sha256 ...>``: a value too long to keep, by a digest of its JSON."""
    import hashlib

    text = json.dumps(value, sort_keys=True)
    return f"<{what}, sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}>"


def _show(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: YAML's ``null``/``true``, strings quoted, long ones cut."""
    text = json.dumps(value) if value is None or isinstance(value, bool | list | dict) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _changed(old: Any, new: Any) -> bool:
    """Whether two saved values differ as JSON (``1`` and ``1.0``, ``true`` and ``1`` do)."""
    return json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True)


def _parameter_changes(old: Any, new: Any) -> list[str]:
    """``name: what changed`` per swept parameter, then per fixed override, of two saved search spaces."""

    def by_name(space: Any) -> dict[str, dict[str, Any]]:
        parameters = space.get("parameters") if isinstance(space, Mapping) else None
        return {str(p["name"]): dict(p) for p in parameters or [] if isinstance(p, Mapping) and "name" in p}

    before, after = by_name(old), by_name(new)
    changes: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            changes.append(f"{name}: removed")
        elif name not in before:
            changes.append(f"{name}: added")
        else:
            a, b = before[name], after[name]
            if a.get("kind") != b.get("kind"):
                changes.append(f"{name}: {_describe_parameter(a)} -> {_describe_parameter(b)}")
                continue
            fields = []
            bounds = [a.get("low"), a.get("high")], [b.get("low"), b.get("high")]
            if _changed(*bounds):
                fields.append(f"bounds {_show(bounds[0])} -> {_show(bounds[1])}")
            for key in sorted((a.keys() | b.keys()) - {"name", "low", "high"}):
                if _changed(a.get(key), b.get(key)):
                    label = key.replace("_", " ").replace("is ordered", "ordered")
                    fields.append(f"{label} {_show(a.get(key))} -> {_show(b.get(key))}")
            if fields:
                changes.append(f"{name}: {', '.join(fields)}{_stop_now_included(a, b)}")

    def fixed(space: Any) -> dict[str, str]:
        overrides = space.get("fixed") if isinstance(space, Mapping) else None
        return {str(o).partition("=")[0]: str(o).partition("=")[2] for o in overrides or []}

    return changes + _mapping_changes(fixed(old), fixed(new), show=str, prefix="fixed ")


def _stop_now_included(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The hint for a saved ``range(...)`` that now has one more value, its stop: how to resume it; else ``""``.

    A range includes its stop where it is on the step's grid, as the Optuna sweeper's does; a sweep started by an
    earlier version, which excluded it, swept one value fewer.
    """
    if (
        old.get("kind") == new.get("kind") == "range"
        and old.get("parameter_type") == new.get("parameter_type") == "int"
    ):
        low, high = old.get("low"), old.get("high")
        if not (
            isinstance(low, int) and isinstance(high, int) and [low, high + 1] == [new.get("low"), new.get("high")]
        ):
            return ""
        written, stop = f"range({low}, {high})", high + 1
    elif old.get("kind") == new.get("kind") == "choice" and old.get("is_ordered") and new.get("is_ordered"):
        before, after = old.get("values"), new.get("values")
        if not (isinstance(before, list) and isinstance(after, list) and len(before) >= 2 and after[:-1] == before):
            return ""
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in after):
            return ""
        step = Decimal(repr(before[1])) - Decimal(repr(before[0]))
        shown = int(step) if all(isinstance(v, int) for v in before) else float(step)
        written, stop = f"range({before[0]!r}, {before[-1]!r}, step={shown!r})", after[-1]
    else:
        return ""
    return (
        f" (if it is a range(...): a range now includes its stop {stop!r} when it is on the step's grid, as the "
        f"Optuna sweeper's does, and this sweep started without it; to resume it, write its old domain: {written})"
    )


def _describe_parameter(parameter: Mapping[str, Any]) -> str:
    """A saved parameter as the sweep grammar reads, roughly: ``interval [0.0, 1.0]``, ``choice ['a', 'b']``."""
    if parameter.get("kind") == "range":
        kind = "int interval" if parameter.get("parameter_type") == "int" else "interval"
        log_scale = " (log)" if parameter.get("log_scale") else ""
        return f"{kind} {_show([parameter.get('low'), parameter.get('high')])}{log_scale}"
    ordered = "ordered " if parameter.get("is_ordered") else ""
    return f"{ordered}choice {_show(parameter.get('values'))}"


def _objective_changes(old: Any, new: Any) -> list[str]:
    """``name: what changed`` per objective of two saved objective lists, or their order (a tuple result's)."""

    def directions(objectives: Any) -> dict[str, Any]:
        return {str(o.get("name")): o.get("direction") for o in objectives or [] if isinstance(o, Mapping)}

    before, after = directions(old), directions(new)
    changes = _mapping_changes(before, after, show=str, was="")
    if not changes and list(before) != list(after):
        changes.append(f"order {', '.join(before)} -> {', '.join(after)}")
    return changes


def _mapping_changes(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    show: Callable[[Any], str] = _show,
    prefix: str = "",
    was: str = "was ",
) -> list[str]:
    """``key: old -> new`` (``removed (was ...)``, ``added (...)``) per changed key of two mappings, sorted by key.

    Serves the fixed overrides of a search space, the objectives' directions and the flattened task configs.
    """
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            changes.append(f"{prefix}{key}: removed ({was}{show(old[key])})")
        elif key not in old:
            changes.append(f"{prefix}{key}: added ({show(new[key])})")
        elif _changed(old[key], new[key]):
            changes.append(f"{prefix}{key}: {show(old[key])} -> {show(new[key])}")
    return changes


def _elsewhere() -> str:
    """How to give a sweep a place of its own, in the reader's terms (:mod:`lightning_ecopt.sweeper.spelling`).

    Another sweep directory under Hydra, another storage file from Python; one wording for every message that says
    it (a clause, without a full stop).

    >>> _elsewhere()
    'give the sweep another storage (SweepSettings(storage=...))'
    >>> with spelling.hydra_spelling():
    ...     _elsewhere()
    'choose another sweep directory (hydra.sweep.dir)'
    """
    if spelling.in_hydra():
        return "choose another sweep directory (hydra.sweep.dir)"
    return f"give the sweep another storage ({spelling.setting('storage')})"


def _start_over(storage: Path | None) -> str:
    """How to start a new sweep instead of resuming the one saved in ``storage`` (or kept in memory).

    In the reader's terms: :func:`_elsewhere`, after moving the saved sweep's files away.
    """
    if storage == Path(_IN_MEMORY):
        return "build a new ParetoSweep"
    return (
        f"move {storage} out of its folder, with the {RESULTS_FILENAME}, tensorboard/ and checkpoints/ beside it (a "
        "folder's results stop a new sweep there; its cached checkpoints would be loaded as this sweep's training), or "
        f"{_elsewhere()}"
    )


def _mismatch_message(storage: Path, stored: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> str | None:
    """Why the experiment saved in ``storage`` is another sweep, or ``None`` when it is this one."""
    legacy = _prefixed_names(stored.get("space"))
    if legacy and _changed(stored.get("space"), fingerprint["space"]):
        return (
            f"ParetoSweep: {storage} was saved by an earlier lightning_ecopt, which named the swept parameters "
            f"{legacy} with their '+' (now {[name.lstrip('+') for name in legacy]}, the key each sets); its Ax "
            f"experiment uses the old names, so this version cannot resume it. Finish it with the version that "
            f"started it, or start a new sweep (another hydra.sweep.dir)."
        )
    old_config, new_config = stored.get("task_config"), fingerprint.get("task_config")
    configs = isinstance(old_config, Mapping) and isinstance(new_config, Mapping)
    describe = {"space": _parameter_changes, "objectives": _objective_changes}
    for part, what in (("space", "search space"), ("objectives", "objectives")):
        old, new = stored.get(part), fingerprint[part]
        if part == "space" and configs:
            # Both task configs hold the fixed overrides' values: a value now given on the command line that the
            # app's config gave before (the fix a task-config refusal asks for) is the same config, judged below.
            old, new = _without_fixed(old), _without_fixed(new)
        if _changed(old, new):  # as JSON: 1, 1.0 and true are three values to Ax
            changes = describe[part](old, new)
            named = "; ".join(changes) if changes else f"{old!r} -> {new!r}"
            return (
                f"ParetoSweep: {storage} holds a sweep with other {what} than this one: {named}. To start fresh, "
                f"{_start_over(storage)}, or restore the original {what} to resume it."
            )
    saved = stored.get("strategy")  # absent from sweeps saved before it was recorded
    acquisition = fingerprint["strategy"]["acquisition"]
    known = saved.get("acquisition") if isinstance(saved, Mapping) else None
    if known is not None and acquisition is not None and known != acquisition:
        return (
            f"ParetoSweep: {storage} holds a sweep that proposes with acquisition={known}, and a "
            f"resumed sweep keeps the generation strategy it saved: acquisition={acquisition} would be recorded but "
            f"not used. Rerun with {spelling.setting('acquisition=' + spelling.shown(known))} to resume it, or "
            f"{_start_over(storage)} to start one with {acquisition}."
        )
    # Saved by an earlier version (or from Python without one), or none given now: nothing to compare.
    if isinstance(old_config, Mapping) and isinstance(new_config, Mapping):
        changes = _mapping_changes(old_config, new_config)
        if changes:
            named = "; ".join(changes[:_CHANGES_NAMED])
            if len(changes) > _CHANGES_NAMED:
                named += f"; and {len(changes) - _CHANGES_NAMED} more"
            return (
                f"ParetoSweep: {storage} holds a sweep whose trials ran with another task config: {named}. Resuming "
                f"would put trials run under both in one frontier: restore those values (in the app's config, or "
                f"as overrides on the command line) to resume it, or "
                f"{_start_over(storage)} to start a new sweep with them."
            )
    return None


def _without_fixed(space: Any) -> Any:
    """A saved search space without its fixed overrides (the task config holds their values)."""
    return {k: v for k, v in space.items() if k != "fixed"} if isinstance(space, Mapping) else space


def _budget_message(n_trials: int, storage: Path | None, n_finished: int) -> str:
    """The refusal of an ``n_trials`` below the trials a saved sweep has already finished."""
    return (
        f"{spelling.setting(f'n_trials={n_trials}')}, but "
        f"{_IN_MEMORY if storage == Path(_IN_MEMORY) else f'the sweep in {storage}'} has "
        f"already finished {n_finished} trials; give "
        f"n_trials >= {n_finished} (the same to report it as it is, more to extend it). Nothing was changed."
    )


def read_saved(storage: Path | None) -> dict[str, Any] | None:
    """The Ax experiment saved in ``storage``, read as plain JSON (no Ax, nothing unpickled), or ``None``.

    Args:
        storage: The sweep's Ax experiment file, or ``None`` (a sweep without storage).

    Returns:
        The file's JSON object; ``None`` without a file there, or where it is not JSON or not an object (a torn or
        foreign file: :func:`check_storage` refuses it, naming why).
    """
    if storage is None or not Path(storage).is_file():
        return None
    try:
        data = _load(Path(storage))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def saved_trials(data: Mapping[str, Any] | None) -> list[Any]:
    """The trials of an experiment :func:`read_saved` returned, as Ax saved them (a JSON object each, unchecked).

    Args:
        data: What :func:`read_saved` returned.

    Returns:
        The trials, in the file's order; ``[]`` for ``None`` or an experiment without a list or mapping of trials.

    Example:
        >>> saved_trials({"experiment": {"trials": {"0": {"index": 0}}}}), saved_trials(None)
        ([{'index': 0}], [])
    """
    experiment = data.get("experiment") if isinstance(data, Mapping) else None
    trials = experiment.get("trials") if isinstance(experiment, Mapping) else None
    if isinstance(trials, Mapping):
        return list(trials.values())
    return list(trials) if isinstance(trials, list) else []


def saved_trial_count(storage: Path | None) -> int:
    """How many trials the Ax experiment saved in ``storage`` holds, whatever their status; 0 without one.

    Every trial the sweep launched is one (and so are reused trials and those never launched).
    """
    return len(saved_trials(read_saved(storage)))


def saved_finished_count(storage: Path | None) -> int:
    """How many trials of the sweep saved in ``storage`` finished (completed or failed; plain JSON read); 0 without."""
    return _saved_finished_count(read_saved(storage))


def _saved_finished_count(data: Mapping[str, Any] | None) -> int:
    """How many trials of an experiment :func:`read_saved` returned finished: completed or failed; 0 if unreadable.

    Counted as :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep._record_from_trial` records them: by the status the
    sweep saved in the trial's run metadata, else (saved before it kept one) by Ax's status.
    """
    try:
        count = 0
        for trial in saved_trials(data):
            meta = (trial.get("run_metadata") or {}).get(_METADATA_KEY) or {}
            status = meta.get("status")
            if status not in ("completed", "failed", "abandoned"):  # saved before the status was kept
                name = str((trial.get("status") or {}).get("name"))
                status = {"COMPLETED": "completed", "FAILED": "failed"}.get(name)
            count += status in ("completed", "failed")
        return count
    except (KeyError, TypeError, AttributeError):
        return 0


def saved_sobol_count(storage: Path | None) -> int | None:
    """The number of Sobol trials a saved sweep's strategy was built with (plain JSON read), or ``None``.

    A resumed sweep keeps it (:meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run`), whatever ``n_initial_trials``
    resolves to now.
    """
    data = read_saved(storage)
    if data is None:
        return None
    try:
        stored = _saved_description(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    count = _stored_sobol_count(stored)
    return count if count is not None else _strategy_sobol_count(data)


def _strategy_sobol_count(data: Any) -> int | None:
    """The Sobol count of the generation strategy Ax saved (plain JSON, :func:`read_saved`'s), or ``None``.

    A sweep saved before its description kept the count (before 2026-12-03, no ``strategy`` there) has it only in
    Ax's strategy: the Sobol node's budget (its ``MinTrials`` towards the model that counts every trial but failed
    and abandoned ones), one more where a centre point came first.

    >>> budget = {"__type": "MinTrials", "threshold": 4, "not_in_statuses": [{"name": "FAILED"}]}
    >>> observed = {"__type": "MinTrials", "threshold": 2, "only_in_statuses": [{"name": "COMPLETED"}]}
    >>> sobol = {"name": "Sobol", "transition_criteria": [budget, observed]}
    >>> _strategy_sobol_count({"generation_strategy": {"nodes": [sobol, {"name": "MBM"}]}})
    4
    >>> _strategy_sobol_count({"generation_strategy": {"nodes": [{"name": "CenterOfSearchSpace"}, sobol]}})
    5
    >>> _strategy_sobol_count({"experiment": {}}) is None
    True
    """
    try:
        nodes = {node["name"]: node for node in data["generation_strategy"]["nodes"]}
        criteria = nodes["Sobol"]["transition_criteria"]
    except (KeyError, TypeError, AttributeError):
        return None
    for criterion in criteria if isinstance(criteria, list) else []:
        if not isinstance(criterion, Mapping) or criterion.get("__type") != "MinTrials":
            continue
        threshold = criterion.get("threshold")
        if criterion.get("only_in_statuses") or not isinstance(threshold, int) or isinstance(threshold, bool):
            continue  # the observed-trials criterion (COMPLETED only), not the budget
        return threshold + ("CenterOfSearchSpace" in nodes)
    return None


def saved_provenance(storage: Path | None) -> list[dict[str, Any]]:
    """The provenance records of a saved sweep's runs (plain JSON read), oldest first; ``[]`` where it has none.

    One per run that finished a trial (:func:`lightning_ecopt.provenance.run_record`); a sweep saved before they were
    kept has none (nor do its runs until then).
    """
    data = read_saved(storage)
    try:
        runs = _saved_description(data).get("provenance") if data is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    return [dict(run) for run in runs if isinstance(run, Mapping)] if isinstance(runs, list) else []


def _load(storage: Path) -> Any:
    """The JSON in ``storage``; raises ``OSError``, ``UnicodeDecodeError`` or ``ValueError`` where it has none."""
    return json.loads(storage.read_text(encoding="utf-8"))


def _saved_description(data: Any) -> Any:
    """What the sweep saved in the experiment's description (:func:`sweep_fingerprint` and more), ``None`` if absent.

    Raises ``KeyError``, ``TypeError``, ``AttributeError`` or ``ValueError`` where ``data`` is no Ax experiment.
    """
    return json.loads(data["experiment"]["description"] or "{}").get(_METADATA_KEY)


def _stored_sobol_count(stored: Any) -> int | None:
    """The Sobol count in a sweep's saved description (its ``strategy``), or ``None`` when it has none."""
    saved = stored.get("strategy") if isinstance(stored, Mapping) else None
    count = saved.get("n_initial_trials") if isinstance(saved, Mapping) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def _prefixed_names(space: Any) -> list[str]:
    """Parameters a saved space names with their ``+``: saved before parameters were named by the key they set."""
    if not isinstance(space, Mapping) or not isinstance(space.get("parameters"), list):
        return []
    return [
        p["name"]
        for p in space["parameters"]
        if isinstance(p, Mapping) and isinstance(p.get("name"), str) and p["name"].startswith("+")
    ]


def _start_fresh() -> str:
    """How to start a new sweep where ``storage`` holds no experiment of this sweeper's (a clause, no full stop).

    In the reader's terms: :func:`_elsewhere`, after moving the file away.

    >>> _start_fresh().endswith("or give the sweep another storage (SweepSettings(storage=...))")
    True
    >>> with spelling.hydra_spelling():
    ...     _start_fresh().endswith("or choose another sweep directory (hydra.sweep.dir)")
    True
    """
    return (
        f"to start fresh, move it away (with the {RESULTS_FILENAME}, tensorboard/ and checkpoints/ beside it, if any: "
        f"cached checkpoints left there would be loaded as the new sweep's training), or {_elsewhere()}"
    )


def check_storage(storage: Path, fingerprint: Mapping[str, Any], n_trials: int | None = None) -> None:
    """Check, before any trial, that a sweep can save to ``storage`` and, if it exists, resume from it.

    Reads the file as plain JSON (no Ax, no pickle): it must be an Ax experiment saved by this sweeper over the same
    search space, objectives, acquisition function and task config, with no more finished trials than
    ``n_trials``. The folder is created if missing and must be writable (a temporary file is created there and
    removed).

    Args:
        storage: The Ax experiment JSON file.
        fingerprint: This sweep's :func:`sweep_fingerprint`.
        n_trials: The sweep's budget; ``None``: not checked.

    Raises:
        EcoptConfigError: The folder cannot be written, the file is not an Ax experiment, it holds another sweep, or
            more finished trials than ``n_trials``; the message names the file and the fix. Where a sweep is running
            in the folder (another process, or thread, holds its :func:`sweep_lock`), the message says so instead.
    """
    storage = Path(storage)
    try:
        _check_storage(storage, fingerprint, n_trials)
    except EcoptConfigError:
        _refuse_if_running(storage)  # a sweep running in the folder is the first thing to say
        raise


def _writable_setting() -> str:
    """The settings that choose where a sweep is saved, in the reader's terms.

    >>> _writable_setting()
    'SweepSettings(storage=...)'
    >>> with spelling.hydra_spelling():
    ...     _writable_setting()
    'hydra.sweeper.storage, or hydra.sweep.dir'
    """
    if spelling.in_hydra():
        return "hydra.sweeper.storage, or hydra.sweep.dir"
    return spelling.setting("storage")


def _check_storage(storage: Path, fingerprint: Mapping[str, Any], n_trials: int | None) -> None:
    """:func:`check_storage`, but for a sweep running there."""
    folder = storage.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{storage.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        link = _broken_link(folder)
        if link is not None:
            raise EcoptConfigError(
                f"ParetoSweep: cannot write the sweep's storage {str(storage)!r}: {link} is a broken symbolic link "
                f"(to {os.readlink(link)!r}, which does not exist); create its target, remove the link, or choose "
                f"another location ({_writable_setting()})."
            ) from None
        raise EcoptConfigError(
            f"ParetoSweep: cannot write the sweep's storage {str(storage)!r} "
            f"({type(err).__name__}: {err.strerror or err}); choose a writable location ({_writable_setting()}) or "
            f"fix the folder's permissions."
        ) from None
    if not storage.exists():
        if (problem := _results_without_experiment(storage)) is not None:
            raise EcoptConfigError(problem)
        return
    try:
        data = _load(storage)
    except ValueError as err:  # no whole JSON (a UnicodeDecodeError is a ValueError too)
        raise EcoptConfigError(_damaged_message(storage, err) or _not_an_experiment(storage, err)) from None
    except OSError as err:
        raise EcoptConfigError(_not_an_experiment(storage, err)) from None
    try:
        stored = _saved_description(data)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise EcoptConfigError(_not_an_experiment(storage, err)) from None
    if not isinstance(stored, dict):
        raise EcoptConfigError(
            f"ParetoSweep: {storage} holds an Ax experiment that the ecopt sweeper did not save (no sweep "
            f"fingerprint); {_start_fresh()}."
        )
    message = _mismatch_message(storage, stored, fingerprint)
    if message is not None:
        raise EcoptConfigError(message)
    n_finished = _saved_finished_count(data)
    if n_trials is not None and n_finished > n_trials:
        raise EcoptConfigError(_budget_message(n_trials, storage, n_finished))


SWEEP_LOCK_NAME = ".ecopt-sweep.lock"
"""The lock file a running sweep holds, one per folder of storage files (:func:`sweep_lock`)."""

_LOCK_ATTEMPTS = 10
"""Times :func:`sweep_lock` locks the file anew where it was replaced between its ``open`` and its ``flock``."""


@dataclasses.dataclass(frozen=True)
class _HeldLock:
    """A sweep lock this process holds: its open file, that file's identity, the process and thread that took it."""

    fd: int
    path: str
    inode: tuple[int, int]
    pid: int
    thread: int
    thread_name: str


_HELD_LOCKS: dict[str, _HeldLock] = {}
"""The sweep locks this process holds, by resolved path."""

_HELD_LOCKS_GUARD = threading.Lock()
"""Makes a thread's look-up, ``flock`` and record of a lock one step for the other threads of the process."""


@contextlib.contextmanager
def sweep_lock(storage: Path) -> Iterator[None]:
    """Hold the folder's :data:`SWEEP_LOCK_NAME` while a sweep runs, so that a second process there is refused.

    Two processes resuming one sweep (a rerun while the first still runs) would abandon each other's running trials,
    launch into the same job dirs and overwrite each other's results. So would two sweeps with other storage files
    in one folder (``hydra.sweeper.storage=${hydra.sweep.dir}/b.json`` beside a running sweep): the results file,
    ``tensorboard/``, the job dirs and ``multirun.yaml`` are the folder's, so the lock is the folder's too. The lock
    is an ``fcntl.flock`` (released by the kernel when the process dies, so a killed sweep never leaves a stale
    lock: a child the process forks closes its copy of the file at once, so it neither keeps the lock nor releases
    it); on Windows, which has no ``fcntl``, a ``msvcrt.locking`` of one byte past the holder's text (released by
    Windows when the process ends, too). Where the file system takes no lock (some network file systems), the sweep
    warns and runs without one.

    The lock is on the file, not on its name: before each save and each launch the sweep checks that the folder
    still holds the file it locked (:func:`check_sweep_locks`), and stops where the folder was deleted or moved.

    Re-entrant within the thread that holds it (a caller may hold it around
    :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run`); another thread of the process is refused, as another
    process is. The Hydra sweeper launches jobs only from inside the run, under the lock, and writes
    ``multirun.yaml`` there too (before its first job), or after a run that launched nothing.

    Args:
        storage: The sweep's Ax experiment file; the lock file sits beside it, one for every sweep of the folder.

    Raises:
        EcoptConfigError: Another process, or another thread of this one, holds the lock: the message names it and
            what to do.
    """
    path = storage.with_name(SWEEP_LOCK_NAME)
    key = str(path.resolve())
    locks = _LOCKS
    if locks is None:
        _warn_unlockable(path, storage.parent, f"{sys.platform} has neither fcntl nor msvcrt")
        yield
        return
    taken = None
    with _HELD_LOCKS_GUARD:
        held = _HELD_LOCKS.get(key)
        if held is not None and held.thread != threading.get_ident():
            raise EcoptConfigError(_other_thread_message(storage.parent, held))
        if held is None:
            taken = _lock(path, storage.parent, locks)
            if taken is not None:
                _HELD_LOCKS[key] = taken
    if taken is None:  # re-entered (the folder must still hold the file locked), or no lock support here
        if held is not None:
            _check_held(held)
        yield
        return
    try:
        yield
    finally:
        # Not in a forked child unwinding its parent's frames (its copy of the file was closed at the fork):
        # unlocking the open file it shares with the parent would release the parent's lock.
        if os.getpid() == taken.pid:
            with _HELD_LOCKS_GUARD:
                _HELD_LOCKS.pop(key, None)
            with contextlib.suppress(OSError):
                locks.unlock(taken.fd)
            os.close(taken.fd)


def check_sweep_locks() -> None:
    """Check that each sweep lock this thread holds is still its folder's :data:`SWEEP_LOCK_NAME` file.

    A sweep dir deleted or moved while its sweep runs (``rm -rf multirun/demo`` and a rerun, ``mv``) takes the locked
    file with it: a sweep started there since holds a new lock file, and this sweep's next save would recreate the
    folder (or write into that sweep's). The loop calls this before each save, the Hydra sweeper before each launch:
    one ``stat`` per lock held.

    Raises:
        EcoptConfigError: The folder no longer holds the locked file; nothing was written, the message says where the
            sweep's files are and how to resume.
    """
    pid, thread = os.getpid(), threading.get_ident()
    for held in list(_HELD_LOCKS.values()):
        if held.pid == pid and held.thread == thread:
            _check_held(held)


def _check_held(held: _HeldLock) -> None:
    """Raise where ``held.path`` no longer names the file this process locked (see :func:`check_sweep_locks`)."""
    try:
        now = os.stat(held.path)
    except OSError:  # gone (FileNotFoundError), or a parent replaced by a file (NotADirectoryError)
        now = None
    if now is not None and _identity(now) == held.inode:
        return
    folder = Path(held.path).parent
    there = "is gone" if now is None else "is another sweep's lock file now"
    raise EcoptConfigError(
        f"ParetoSweep: the sweep dir {folder} was deleted or moved while this sweep ran ({SWEEP_LOCK_NAME} there "
        f"{there}, not the one this sweep locked); stopping without recreating it, so that this sweep writes nothing "
        f"beside a sweep started there since. What it saved before went with the folder: to resume it, put the "
        f"folder back at {folder} (once no other sweep runs there) and {spelling.rerun_to_resume()}; trials that "
        f"finished since its last save run again."
    )


#: Lock files this process could not lock (a file system without flock), warned of once each.
_UNLOCKABLE: set[str] = set()


class _Flock:
    """The sweep lock on POSIX: ``fcntl.flock`` on the whole file."""

    def __init__(self, fcntl: Any) -> None:
        self._fcntl = fcntl

    def lock(self, fd: int) -> None:
        """Lock ``fd`` for this process; ``BlockingIOError`` where another holds it, ``OSError`` where unsupported."""
        self._fcntl.flock(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)

    def held_elsewhere(self, fd: int) -> None:
        """Raise ``BlockingIOError`` where another process holds the lock (a shared lock, gone with ``fd``)."""
        self._fcntl.flock(fd, self._fcntl.LOCK_SH | self._fcntl.LOCK_NB)

    def unlock(self, fd: int) -> None:
        """Release this process's lock on ``fd``."""
        self._fcntl.flock(fd, self._fcntl.LOCK_UN)


_REGION_OFFSET = 1 << 30
"""Where the Windows sweep lock's one byte lies: past the holder's text, which Windows's mandatory region locks would
otherwise make unreadable to the sweep it refuses (the file is not extended: a region past its end can be locked)."""


class _RegionLock:
    """The sweep lock on Windows: ``msvcrt.locking`` of the byte at :data:`_REGION_OFFSET`.

    Windows releases a process's region locks when the process ends (a killed sweep leaves no stale lock), and a
    handle Python opens is not inherited by the processes it starts.
    """

    def __init__(self, msvcrt: Any) -> None:
        self._msvcrt = msvcrt

    def _locking(self, fd: int, mode: int) -> None:
        position = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _REGION_OFFSET, os.SEEK_SET)
        try:
            self._msvcrt.locking(fd, mode, 1)
        except PermissionError as err:  # EACCES (LK_NBLCK) or EDEADLOCK: another process holds it
            raise BlockingIOError(err.errno, err.strerror) from err
        finally:
            os.lseek(fd, position, os.SEEK_SET)

    def lock(self, fd: int) -> None:
        """Lock ``fd`` for this process; ``BlockingIOError`` where another holds it, ``OSError`` where unsupported."""
        self._locking(fd, self._msvcrt.LK_NBLCK)

    def held_elsewhere(self, fd: int) -> None:
        """Raise ``BlockingIOError`` where another process holds the lock (no shared lock here: taken, let go)."""
        self._locking(fd, self._msvcrt.LK_NBLCK)
        self.unlock(fd)

    def unlock(self, fd: int) -> None:
        """Release this process's lock on ``fd``."""
        self._locking(fd, self._msvcrt.LK_UNLCK)


def _platform_locks() -> _Flock | _RegionLock | None:
    """The sweep lock this platform has: :class:`_Flock` (POSIX), :class:`_RegionLock` (Windows), else ``None``."""
    try:
        import fcntl
    except ImportError:
        pass
    else:
        return _Flock(fcntl)
    try:
        import msvcrt
    except ImportError:
        return None
    return _RegionLock(msvcrt)


_LOCKS = _platform_locks()
"""The sweep lock of this platform; ``None`` where it has none (the sweep warns, and runs unlocked)."""


def _warn_unlockable(path: Path, folder: Path, why: str) -> None:
    """Warn, once per lock file, that a sweep in ``folder`` runs without its lock (and so refuses no second one)."""
    if str(path.absolute()) in _UNLOCKABLE:  # once: the plugin and the loop lock the same file
        return
    _UNLOCKABLE.add(str(path.absolute()))
    log.warning(
        "ecopt: cannot lock %s (%s); the sweep runs without a lock, so a second sweep started on %s would not be "
        "refused: start one at a time there.",
        path,
        why,
        folder,
    )


def _identity(stat: os.stat_result) -> tuple[int, int]:
    """A file's identity: its device and inode."""
    return stat.st_dev, stat.st_ino


def _lock(path: Path, folder: Path, locks: _Flock | _RegionLock) -> _HeldLock | None:
    """Lock ``path`` (created if missing) for this thread; ``None`` where the file system has no locks.

    Locks, then checks that ``path`` still names the locked file: one removed or replaced between the ``open`` and
    the ``flock`` (a sweep dir deleted and recreated just then) is not the lock another process would take.

    Raises:
        EcoptConfigError: Another process holds the lock, the file kept being replaced, or it cannot be opened
            (another user's, a read-only folder).
    """
    for _ in range(_LOCK_ATTEMPTS):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        except PermissionError as err:  # a shared folder: another user's sweep made the file, without group write
            raise EcoptConfigError(
                f"ParetoSweep: cannot open the sweep's lock file {path} ({err.strerror}): another user's sweep made "
                f"it, or {folder} is read-only to you. Resume a sweep as the user who started it, or "
                f"{_elsewhere()}."
            ) from None
        try:
            locks.lock(fd)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise EcoptConfigError(_running_message(folder, path, holder)) from None
        except OSError as err:  # no lock support on this file system: run unlocked, as before
            os.close(fd)
            _warn_unlockable(path, folder, f"{err.strerror or err}: this file system takes no lock")
            return None
        locked = _identity(os.fstat(fd))
        try:
            named: tuple[int, int] | None = _identity(os.stat(path))
        except OSError:
            named = None
        if named == locked:
            try:
                os.ftruncate(fd, 0)
                text = f"process {os.getpid()} on {_hostname()} (since {_now_with_offset()})"
                os.write(fd, text.encode("utf-8"))
            except BaseException:
                os.close(fd)
                raise
            thread = threading.current_thread()
            return _HeldLock(fd, str(path.absolute()), locked, os.getpid(), thread.ident or 0, thread.name)
        os.close(fd)  # replaced since the open: lock the file the folder holds now
    raise EcoptConfigError(
        f"ParetoSweep: cannot lock {path}: it was replaced {_LOCK_ATTEMPTS} times while this sweep locked it (another "
        f"program deletes or recreates {folder}); stop it, or {_elsewhere()}."
    )


def _now_with_offset() -> str:
    """This host's local time now, with its UTC offset (``2026-12-03 10:00:00 +0545``).

    The lock's holder text is read where the sweep dir is shared: on another host, a SLURM login node in another
    time zone, a bare local time would be taken for the reader's own.
    """
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def _holder(fd: int) -> str:
    """Who holds the lock file open as ``fd``, as its holder wrote it (``process N on HOST (since ...)``)."""
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", errors="replace").strip() or "another process"


def _running_message(folder: Path, path: Path, holder: str) -> str:
    """The refusal of a sweep in ``folder`` while ``holder`` holds its lock file ``path``."""
    if _is_dead(holder):
        return (
            f"ParetoSweep: {holder} started the sweep in {folder} and has ended, but a process it started still holds "
            f"{path.name} open (a child forked before it died): find it with `fuser -v {path}` (or `lsof {path}`) "
            f"and stop it, or wait for it to exit; then {spelling.rerun_to_resume()}."
        )
    message = (
        f"ParetoSweep: {holder} is running the sweep in {folder} ({path.name} is locked). Two processes on one sweep "
        f"would abandon each other's trials and overwrite each other's results: wait for it to finish (or stop it "
        f"with Ctrl-C), then {spelling.rerun_to_resume()}; or {_elsewhere()} to start a new sweep."
    )
    host = _holder_host(holder)
    if host is None or host == _hostname():
        return message
    # A shared file system: the holder's host may be gone (a crashed node), and its lock outlive it on the file
    # server until the server expires it (NFSv4: its lease; NFSv3's lockd: until the node comes back).
    return (
        f"{message} It runs on another host ({host}): if {host} is down, its lock may outlive it on a network file "
        f"system; once sure that no sweep runs there, delete {path} and {spelling.rerun_to_resume()} (a sweep still "
        f"running there stops at its next save, finding another lock file)."
    )


def _holder_host(holder: str) -> str | None:
    """The host the lock's ``holder`` text names (``process N on HOST (since ...)``), or ``None``.

    >>> _holder_host("process 4242 on node7 (since 2026-12-03 10:00:00 +0100)"), _holder_host("another process")
    ('node7', None)
    """
    match = re.match(r"process \d+ on (\S+)", holder)
    return None if match is None else match[1]


def _is_dead(holder: str) -> bool:
    """Whether the lock's ``holder`` text names a process of this host that no longer exists."""
    match = re.match(r"process (\d+) on (\S+) ", holder)
    if match is None or match[2] != _hostname() or int(match[1]) == os.getpid():
        return False
    return not process_exists(int(match[1]))


def _other_thread_message(folder: Path, held: _HeldLock) -> str:
    """The refusal of a sweep in ``folder`` while another thread of this process holds its lock."""
    return (
        f"ParetoSweep: another thread of this process ({held.thread_name!r}) is running the sweep in {folder} "
        f"({SWEEP_LOCK_NAME} is held by it). Two sweeps on one folder would abandon each other's trials and overwrite "
        f"each other's results: run them one after the other, or give each its own folder (storage, or "
        f"hydra.sweep.dir)."
    )


def _refuse_if_running(storage: Path) -> None:
    """Raise the lock's refusal where a sweep runs in ``storage``'s folder, without creating the lock file.

    A refusal of the folder's saved sweep (another search space, task config or budget) would send the user to move
    the files of a sweep that is still running.
    """
    locks = _LOCKS
    if locks is None:
        return
    path = storage.with_name(SWEEP_LOCK_NAME)
    held = _HELD_LOCKS.get(str(path.resolve()))
    if held is not None:
        if held.thread != threading.get_ident():
            raise EcoptConfigError(_other_thread_message(storage.parent, held)) from None
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return
    try:
        locks.held_elsewhere(fd)
    except BlockingIOError:
        raise EcoptConfigError(_running_message(storage.parent, path, _holder(fd))) from None
    except OSError:
        return
    finally:
        os.close(fd)  # and with it the shared lock


def _forget_locks_in_child() -> None:
    """In a forked child: close the inherited lock files (without unlocking them: the parent still holds them)."""
    global _HELD_LOCKS_GUARD
    _HELD_LOCKS_GUARD = threading.Lock()  # another thread may have held it at the fork
    for held in _HELD_LOCKS.values():
        with contextlib.suppress(OSError):
            os.close(held.fd)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_locks_in_child)


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _broken_link(folder: Path) -> Path | None:
    """The symbolic link among ``folder`` and its parents whose target does not exist, or ``None``."""
    for path in (folder, *folder.parents):
        if path.is_symlink() and not path.exists():
            return path
    return None


def _not_an_experiment(storage: Path, err: Exception) -> str:
    """Why a resume refuses ``storage``, which cannot be read as an Ax experiment of this sweeper's."""
    return (
        f"ParetoSweep: {storage} exists but is not an Ax experiment saved by the ecopt sweeper "
        f"({type(err).__name__}: {err}); {_start_fresh()}."
    )


def _folder_results(folder: Path) -> Any:
    """The data of ``folder``'s results file, as YAML reads it (libyaml's loader where PyYAML has it).

    Raises:
        OSError: It cannot be read.
        UnicodeDecodeError: It is not UTF-8.
        yaml.YAMLError: It is no YAML.
    """
    import yaml

    text = (folder / RESULTS_FILENAME).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _damaged_message(storage: Path, err: Exception) -> str | None:
    """Why a resume refuses ``storage``, which holds no whole JSON, where the results beside it list its trials.

    The sweeper writes the experiment whole (a temporary file, fsynced, renamed into place), so such a file was cut or
    changed after its save: a copy cut short, a disk or file-system error, an edit. ``None`` without results that
    name this storage file (then nothing says the file was ever a sweep's: it is refused as no experiment).
    """
    import yaml

    try:
        data = _folder_results(storage.parent)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    settings = data.get("settings") if isinstance(data, dict) else None
    trials = data.get("trials") if isinstance(data, dict) else None
    saved_to = settings.get("storage") if isinstance(settings, dict) else None
    if not isinstance(trials, list) or not isinstance(saved_to, str) or Path(saved_to).name != storage.name:
        return None
    size = storage.stat().st_size if storage.exists() else 0
    return (
        f"ParetoSweep: {storage} is damaged ({type(err).__name__}: {err}; {size} bytes): the sweep writes it whole, "
        f"so it was cut or changed after it was saved (a copy cut short, a disk or file-system error, an edit). "
        f"To resume, put back an intact copy of it (its {len(trials)} trials are listed in {RESULTS_FILENAME}, which "
        f"`ecopt report {shell_path(storage.parent)}` reads); else {_start_fresh()}."
    )


def _results_without_experiment(storage: Path) -> str | None:
    """Why a new sweep saved to ``storage`` (which does not exist) must not start in its folder, or ``None``.

    The folder's ``optimization_results.yaml`` is rewritten after a new sweep's first batch: where it holds the
    trials of another sweep (saved to another file in this folder, or whose experiment was deleted or moved), they
    would be lost, and its TensorBoard runs mixed with the new sweep's.
    """
    import yaml

    results = storage.parent / RESULTS_FILENAME
    if not results.is_file():
        return None
    try:
        data = _folder_results(storage.parent)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        data, unreadable = None, f" (unreadable: {type(err).__name__})"
    else:
        unreadable = ""
    trials = data.get("trials") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(trials, list) and not trials:
        return None  # a sweep that saved before its first trial finished: nothing to lose
    if isinstance(data, dict) and data.get("name") not in (None, "ecopt"):
        return (
            f"ParetoSweep: {results} holds the results of another sweeper ({data.get('name')!r}), which a new sweep "
            f"would write over; move it out of {storage.parent}, or give this sweep its own folder (hydra.sweep.dir, "
            "or storage)."
        )
    settings = data.get("settings") if isinstance(data, dict) else None
    other = settings.get("storage") if isinstance(settings, dict) else None
    held = f"{len(trials)} trials" if isinstance(trials, list) else "the results"
    start_here = (
        f"move {RESULTS_FILENAME}, tensorboard/ and checkpoints/ out of {storage.parent} to start a new sweep there, "
        "or give this sweep its own folder (hydra.sweep.dir, or storage)"
    )
    if isinstance(other, str) and Path(other).name != storage.name:
        return (
            f"ParetoSweep: {results} holds {held} of another sweep, saved to {other}, and a new sweep saved to "
            f"{storage.name} in the same folder would write over them; resume that sweep (storage={other}), or "
            f"{start_here}."
        )
    return (
        f"ParetoSweep: {results} holds {held}{unreadable} of a sweep whose experiment ({storage}) is missing; a new "
        f"sweep would write over them. To resume that sweep, put its experiment file back; else {start_here}."
    )


def _remove_torn_writes(storage: Path) -> None:
    """Delete the temporary files a sweep killed mid-save left beside ``storage`` (the real files are never torn)."""
    torn = [
        path
        for name in (storage.name, RESULTS_FILENAME)
        for path in storage.parent.glob(f".{name}.*.tmp")
        if path.is_file()
    ]
    for path in torn:
        path.unlink(missing_ok=True)
    if torn:
        log.info("ecopt: removed %d temporary files left by an interrupted save: %s", len(torn), [p.name for p in torn])
